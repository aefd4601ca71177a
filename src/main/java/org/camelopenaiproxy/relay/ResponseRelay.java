package org.camelopenaiproxy.relay;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.observe.UpstreamErrorRedactor;
import org.camelopenaiproxy.request.ActiveRelays;
import org.camelopenaiproxy.request.DiagnosticCapture;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.ResponseRecorder;
import org.camelopenaiproxy.request.Settlement;
import org.camelopenaiproxy.upstream.DeadLetterQueue;
import org.camelopenaiproxy.upstream.Timeouts;
import org.camelopenaiproxy.upstream.UpstreamHeaders;
import org.camelopenaiproxy.upstream.UpstreamResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays an upstream answer to the client chunk by chunk, as it arrives: every chunk is written
 * (and flushed) at once, so server-sent events reach the client event by event. Back-pressure: a
 * slow client pauses the upstream. The client leaving resets the upstream request; an upstream
 * failure after the head was sent ends a stream with an SSE error event, or closes the connection
 * of any other answer (its status has already gone out). An answer outside 2xx is the exception:
 * it is collected, its secrets masked ({@link UpstreamErrorRedactor}), and sent whole.
 */
public class ResponseRelay {

    private static final Logger LOG = LoggerFactory.getLogger(ResponseRelay.class);

    private final Vertx vertx;
    private final Timeouts timeouts;
    private final UpstreamErrorRedactor errorRedactor;
    private final DeadLetterQueue deadLetters;
    private final ActiveRelays active;

    /** @param deadLetters where answers that fail after their head are recorded, or {@code null} */
    public ResponseRelay(Vertx vertx, Timeouts timeouts, UpstreamErrorRedactor errorRedactor, DeadLetterQueue deadLetters,
            ActiveRelays active) {
        this.vertx = vertx;
        this.timeouts = timeouts;
        this.errorRedactor = errorRedactor;
        this.deadLetters = deadLetters;
        this.active = active;
    }

    public void relay(ProxyRequest request, UpstreamResponse upstream, HttpServerResponse client) {
        HttpClientResponse response = upstream.response();
        HttpClientRequest upstreamRequest = upstream.request();
        request.markRelayStart();
        MultiMap headers = client.headers();
        client.setStatusCode(response.statusCode());
        UpstreamHeaders.toClient(response.headers(), headers);
        if (request.rateLimits() != null) {
            request.rateLimits().writeTo(headers);
        }
        if (request.requestId() != null) {
            headers.set(ProxyHeaders.X_REQUEST_ID, request.requestId()); // ours; the upstream's goes alongside
        }
        if (request.upstreamRequestId() != null) {
            headers.set(ProxyHeaders.X_UPSTREAM_REQUEST_ID, request.upstreamRequestId());
        }
        boolean eventStream = isEventStream(response);
        StreamUsageFilter usageFilter = eventStream && request.usageInjected() ? new StreamUsageFilter() : null;
        DiagnosticCapture diagnostics = request.diagnostics();
        UsageTee usage = new UsageTee(response.getHeader(ProxyHeaders.CONTENT_TYPE));
        int status = response.statusCode();
        // an error answer is small: collected and masked (upstreams echo keys in them), then sent whole
        UpstreamErrorRedactor.Collector errorBody = UpstreamErrorRedactor.masks(status)
                ? errorRedactor.collector(request, status, response.getHeader(io.vertx.core.http.HttpHeaders.CONTENT_ENCODING)) : null;
        if (errorBody != null) {
            headers.remove(ProxyHeaders.CONTENT_LENGTH); // set again for the masked body
            headers.remove(io.vertx.core.http.HttpHeaders.CONTENT_ENCODING);
            errorRedactor.redactHeaders(request, headers);
        }
        // streams are bounded by the idle timeout only; other answers by the total timeout too
        long totalDeadline = eventStream ? Long.MAX_VALUE
                : request.startNanos() + timeouts.total() * 1_000_000L;
        Watchdog watchdog = new Watchdog(vertx, e -> upstreamRequest.reset(0, e), timeouts.idle(), totalDeadline,
                System::nanoTime);
        if (eventStream) {
            headers.set(ProxyHeaders.CACHE_CONTROL, "no-cache");
            headers.set(ProxyHeaders.X_ACCEL_BUFFERING, "no");
        }
        headers.set(ProxyHeaders.X_PROXY_CACHE, request.cacheStatus());
        if (errorBody == null && !headers.contains(ProxyHeaders.CONTENT_LENGTH)) {
            client.setChunked(true);
        }
        ResponseRecorder recorder = request.recorder();
        if (recorder != null) {
            recorder.head(status, headers, eventStream);
        }
        // the client leaving is handled by ProxyRequest.clientLeft(), which resets the upstream call
        boolean[] done = {false};
        response.handler(upstreamChunk -> {
            watchdog.activity();
            if (errorBody != null) {
                errorBody.append(upstreamChunk);
                return;
            }
            usage.accept(upstreamChunk);
            Buffer chunk = usageFilter == null ? upstreamChunk : usageFilter.apply(upstreamChunk);
            if (chunk.length() == 0) {
                return;
            }
            request.markFirstByte();
            if (recorder != null) {
                recorder.chunk(chunk);
            }
            if (diagnostics != null) {
                diagnostics.response(chunk);
            }
            client.write(chunk);
            if (client.writeQueueFull()) {
                response.pause();
                client.drainHandler(v -> {
                    watchdog.activity();
                    response.resume();
                });
            }
        });
        io.vertx.core.Handler<Throwable> onFailure = failure -> {
            if (done[0]) {
                return;
            }
            done[0] = true;
            watchdog.stop();
            ProxyException error = OpenAiError.from(failure);
            active.remove(request);
            request.endedBy(error.status() == 504 ? "timeout" : "upstream_error");
            request.error(error);
            if (deadLetters != null) { // the client got an error event, or a broken answer
                request.atEnd(Settlement.DEAD_LETTER,
                        outcome -> deadLetters.record(request, error.status(), error.getMessage(), null));
            }
            Outcome.Ending ending = request.clientGone() ? Outcome.Ending.CLIENT_LEFT
                    : error.status() == 504 ? Outcome.Ending.TIMED_OUT : Outcome.Ending.FAILED;
            request.end(new Outcome(ending, status, usage.usage(), usage.events()));
            LOG.debug("Upstream failed after the response began (request {}): {}", request.requestId(), error.getMessage());
            if (eventStream && !client.ended() && !client.closed()) {
                client.end(Buffer.buffer(OpenAiError.sseEvent(error, request.requestId())));
            } else {
                client.reset();
            }
        };
        response.exceptionHandler(onFailure);
        response.endHandler(v -> {
            if (done[0]) {
                return;
            }
            done[0] = true;
            active.remove(request);
            watchdog.stop();
            Buffer rest = usageFilter == null ? null : usageFilter.flush();
            Buffer last = rest != null && rest.length() > 0 ? rest : null;
            if (errorBody != null) {
                Buffer masked = errorBody.finish();
                if (status >= 500 && deadLetters != null) { // a 5xx passed on as it came (not retried)
                    request.atEnd(Settlement.DEAD_LETTER, outcome -> deadLetters.record(request, status,
                            "The upstream API answered " + status + ".", masked.toString()));
                }
                if (errorBody.replaced()) {
                    client.headers().set(ProxyHeaders.CONTENT_TYPE, OpenAiError.CONTENT_TYPE);
                }
                request.markFirstByte();
                last = masked; // not chunked: Vert.x sets Content-Length
            }
            if (last != null) {
                if (recorder != null) {
                    recorder.chunk(last);
                }
                if (diagnostics != null) {
                    diagnostics.response(last);
                }
            }
            if (recorder != null) {
                recorder.complete();
            }
            // Settled before the last bytes go out: a client holding the whole answer finds it
            // cached and its Idempotency-Key answer kept when it sends the next request.
            request.end(Outcome.completed(status, usage.usage(), usage.events()));
            if (last != null) {
                client.end(last);
            } else {
                client.end();
            }
        });
        if (upstream.earlyFailure() != null) {
            onFailure.handle(upstream.earlyFailure());
            upstreamRequest.reset();
            return;
        }
        active.add(request, onFailure);
        watchdog.start();
        response.resume();
        if (request.clientGone()) {
            upstreamRequest.reset();
        }
    }

    static boolean isEventStream(HttpClientResponse response) {
        String type = response.getHeader(ProxyHeaders.CONTENT_TYPE);
        return type != null && type.regionMatches(true, 0, ProxyHeaders.EVENT_STREAM, 0, ProxyHeaders.EVENT_STREAM.length());
    }
}
