package org.camelopenaiproxy.inbound;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.request.ActiveRelays;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Graceful drain on shutdown (SIGTERM), like nginx and Envoy: readiness check {@code draining}
 * goes DOWN at once; new API requests get 503 with {@code Connection: close} (over HTTP/2: GOAWAY;
 * the load balancer sends them elsewhere; {@code /observe/**} still answers); requests and streams in flight run to
 * completion for up to {@code proxy.shutdown.drain-ms}; streams still open then end with an SSE
 * error event (and a dead letter) instead of a cut. The sink queues are flushed afterwards by
 * the routes' own shutdown ({@code CompleteAllTasks}).
 */
public class ShutdownDrain extends AbstractHealthCheck {

    private static final Logger LOG = LoggerFactory.getLogger(ShutdownDrain.class);
    private static final ProxyException SHUTTING_DOWN = ProxyException.unavailable(
            "The proxy is shutting down; retry the request (another instance will take it).");

    private final long drainMillis;
    private final IntSupplier inFlight;
    private final ActiveRelays relays;
    private volatile boolean draining;

    /** @param inFlight requests in flight (arrived, not finished) */
    public ShutdownDrain(long drainMillis, IntSupplier inFlight, ActiveRelays relays) {
        super("proxy", "draining");
        this.drainMillis = drainMillis;
        this.inFlight = inFlight;
        this.relays = relays;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("in_flight", inFlight.getAsInt());
        if (draining) {
            builder.message("Shutting down: finishing the requests in flight.");
            builder.down();
        } else {
            builder.up();
        }
    }

    public boolean draining() {
        return draining;
    }

    /**
     * While draining, answers an API request with 503 and {@code Connection: close}; true when it did.
     * Runs on the event loop.
     */
    public boolean refused(HttpServerRequest request) {
        if (!draining || request.path().startsWith("/observe")) {
            return false;
        }
        HttpServerResponse response = request.response().setStatusCode(503)
                .putHeader(ProxyHeaders.CONTENT_TYPE, OpenAiError.CONTENT_TYPE)
                .putHeader(ProxyHeaders.RETRY_AFTER, "1");
        Buffer body = Buffer.buffer(OpenAiError.body(SHUTTING_DOWN.type(), SHUTTING_DOWN.code(), null,
                SHUTTING_DOWN.getMessage()));
        if (request.version() == HttpVersion.HTTP_2) {
            // HTTP/2 has no Connection header (RFC 9113 8.2.2: an answer carrying one is malformed,
            // and a Netty-based client resets the stream instead of reading the 503), and closing the
            // connection would cut the other streams still running on it. A graceful shutdown sends
            // GOAWAY instead: no new streams here, those in flight finish within the drain time.
            response.end(body).onComplete(v -> request.connection().shutdown(drainMillis, TimeUnit.MILLISECONDS));
            return true;
        }
        response.putHeader(ProxyHeaders.CONNECTION, "close");
        response.end(body).onComplete(v -> request.connection().close());
        return true;
    }

    /**
     * Drains; call from the thread that stops the proxy (never an event loop). Returns when
     * nothing is in flight, or when the drain time is over and the open streams were ended.
     */
    public void drain() throws InterruptedException {
        draining = true;
        if (io.vertx.core.Context.isOnEventLoopThread()) {
            // stopped from an event loop (an embedding application's doing): waiting here would stall
            // the very loop the answers in flight need, so end what is open now instead
            LOG.warn("Stopped from an event loop: no drain wait; ending {} open answer(s)", relays.size());
            relays.endAll(SHUTTING_DOWN);
            return;
        }
        long deadline = System.nanoTime() + drainMillis * 1_000_000L;
        if (inFlight.getAsInt() > 0) {
            LOG.info("Draining {} request(s) in flight, for at most {} ms", inFlight.getAsInt(), drainMillis);
        }
        while (inFlight.getAsInt() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        if (inFlight.getAsInt() == 0) {
            return;
        }
        LOG.warn("Drain time over: ending {} open answer(s) with an error event", relays.size());
        relays.endAll(SHUTTING_DOWN);
        long grace = System.nanoTime() + 1_000_000_000L; // the error events are written on the event loops
        while (inFlight.getAsInt() > 0 && System.nanoTime() < grace) {
            Thread.sleep(10);
        }
    }
}
