package org.camelopenaiproxy.realtime;

import java.util.List;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.observe.UpstreamErrorRedactor;
import org.camelopenaiproxy.reload.ReloadGate;
import org.camelopenaiproxy.request.Attempt;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.RetryPolicy;
import org.camelopenaiproxy.upstream.Timeouts;
import org.camelopenaiproxy.upstream.UpstreamAttemptProcessor;
import org.camelopenaiproxy.upstream.UpstreamCall;
import org.camelopenaiproxy.upstream.UpstreamClients;
import org.camelopenaiproxy.upstream.UpstreamFailure;
import org.camelopenaiproxy.upstream.UpstreamHeaders;
import org.camelopenaiproxy.upstream.UpstreamSelector;

/**
 * Step {@code realtimeConnect} of route {@code realtime}: opens the upstream WebSocket, without
 * blocking, on a deployment the {@link UpstreamSelector} picks (model from {@code ?model=}, priority,
 * weight, circuit breaker), with that deployment's key instead of the client's, the allow-listed
 * headers ({@code OpenAI-Beta}, ...), the query string as sent and the client's subprotocols minus
 * the key. The result, on the message:
 * <ul>
 * <li>accepted: body {@link UpstreamSocket} (paused), which {@link RealtimeEntry} turns into the
 * client's upgrade;</li>
 * <li>refused by the upstream (an HTTP answer instead of 101): that status, content type and body
 * (its secrets masked: {@link UpstreamErrorRedactor}), for the client;</li>
 * <li>unreachable or timed out: an {@link UpstreamFailure} (502/504), after trying the other
 * deployments (up to {@code proxy.retry.max-attempts} in all, no backoff: a client is waiting for
 * its handshake). A refusal with a retryable status (429, 5xx) also moves on to another deployment
 * when there is one; the last refusal is what the client gets.</li>
 * </ul>
 */
public class RealtimeConnect extends UpstreamAttemptProcessor {

    /** Exchange property: the subprotocols to offer upstream ({@code List<String>}). */
    public static final String SUBPROTOCOLS = "proxy.realtime.subprotocols";

    private final UpstreamClients clients;
    private final RetryPolicy retryPolicy;
    private final Timeouts timeouts;
    private final ReloadGate gate;
    private final int maxAttempts;
    private final UpstreamErrorRedactor errorRedactor;

    public RealtimeConnect(UpstreamClients clients, UpstreamSelector selector, RetryPolicy retryPolicy,
            Timeouts timeouts, ReloadGate gate, int maxAttempts, UpstreamErrorRedactor errorRedactor) {
        super(selector, null); // its retries are its own (no error handler): see mayRetry
        this.clients = clients;
        this.retryPolicy = retryPolicy;
        this.timeouts = timeouts;
        this.gate = gate;
        this.maxAttempts = Math.max(1, maxAttempts);
        this.errorRedactor = errorRedactor;
    }

    @Override
    protected void attempt(Exchange exchange, ProxyRequest request, UpstreamSelector.Choice choice,
            AsyncCallback callback) {
        Message message = exchange.getMessage();
        String model = request.facts().model();
        Deployment deployment = choice.deployment();
        WebSocketConnectOptions options = new WebSocketConnectOptions()
                .setHost(deployment.target().host())
                .setPort(deployment.target().port())
                .setSsl(deployment.target().ssl())
                .setURI(deployment.uriFor(request.path(), message.getHeader(Exchange.HTTP_QUERY, String.class), model))
                .setConnectTimeout(timeouts.connect())
                .setTimeout(timeouts.connect()) // the handshake, once connected
                .setAllowOriginHeader(false);
        MultiMap headers = HttpHeaders.headers();
        UpstreamHeaders.toUpstream(message.getHeaders(), headers);
        deployment.authenticate(headers);
        options.setHeaders(headers);
        @SuppressWarnings("unchecked")
        List<String> subprotocols = exchange.getProperty(SUBPROTOCOLS, List.class);
        if (subprotocols != null && !subprotocols.isEmpty()) {
            options.setSubProtocols(subprotocols);
        }
        clients.route(options, deployment);

        long started = System.nanoTime();
        gate.park();
        io.vertx.core.Future<WebSocket> connecting;
        try {
            connecting = clients.webSockets(deployment).connect(options);
        } catch (RuntimeException refused) {
            gate.unpark();
            failed(exchange, request, choice, started, refused, callback);
            return;
        }
        connecting.onComplete(connected -> {
            gate.unpark();
            if (connected.succeeded()) {
                WebSocket socket = connected.result();
                socket.pause(); // nothing may be relayed before the client's side is upgraded
                MultiMap handshake = HttpHeaders.headers().addAll(socket.headers());
                choice.permit().succeeded(System.nanoTime() - started);
                request.addAttempt(new Attempt(deployment.name(), 101, null, System.nanoTime() - started));
                if (request.clientGone()) {
                    socket.close(WebSocketRelay.GOING_AWAY, "client left");
                    exchange.setException(ProxyException.upstreamUnreachable("The client left.", null));
                } else {
                    message.setBody(new UpstreamSocket(socket, deployment, handshake));
                }
                callback.done(false);
            } else if (connected.cause() instanceof UpgradeRejectedException rejected) {
                refused(exchange, request, choice, started, rejected, callback);
            } else {
                failed(exchange, request, choice, started, connected.cause(), callback);
            }
        });
    }

    /** The upstream answered the upgrade with an HTTP status: pass it on, unless another deployment may do better. */
    private void refused(Exchange exchange, ProxyRequest request, UpstreamSelector.Choice choice, long started,
            UpgradeRejectedException rejected, AsyncCallback callback) {
        int status = rejected.getStatus();
        boolean retryable = retryPolicy.retryableStatus(status);
        if (status == 429) {
            choice.permit().rateLimited(System.nanoTime() - started,
                    rejected.getHeaders() == null ? 0 : UpstreamCall.retryAfterMillis(rejected.getHeaders()));
        } else if (retryable && status >= 500) {
            choice.permit().httpFailed(System.nanoTime() - started, status);
        } else {
            choice.permit().succeeded(System.nanoTime() - started);
        }
        request.addAttempt(new Attempt(choice.deployment().name(), status, null, System.nanoTime() - started));
        if (retryable && mayRetry(request)) {
            process(exchange, callback); // the next attempt picks another deployment
            return;
        }
        Message message = exchange.getMessage();
        MultiMap headers = rejected.getHeaders() == null ? HttpHeaders.headers() : rejected.getHeaders();
        String contentType = headers.get(ProxyHeaders.CONTENT_TYPE);
        Buffer body = errorRedactor.redactBody(request, status,
                rejected.getBody() == null ? Buffer.buffer() : rejected.getBody(), headers.get(HttpHeaders.CONTENT_ENCODING));
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        message.setHeader(Exchange.CONTENT_TYPE, contentType != null ? contentType : OpenAiError.CONTENT_TYPE);
        message.setBody(body);
        long retryAfter = UpstreamCall.retryAfterMillis(headers);
        if (retryAfter > 0) {
            request.retryAfter(retryAfter);
        }
        callback.done(false);
    }

    private void failed(Exchange exchange, ProxyRequest request, UpstreamSelector.Choice choice, long started,
            Throwable cause, AsyncCallback callback) {
        if (request.clientGone()) {
            choice.permit().released();
        } else {
            choice.permit().connectionFailed(System.nanoTime() - started, cause);
        }
        ProxyException mapped = OpenAiError.from(cause);
        request.addAttempt(new Attempt(choice.deployment().name(), 0, mapped.getMessage(), System.nanoTime() - started));
        if (mayRetry(request)) {
            process(exchange, callback); // the next attempt picks another deployment
            return;
        }
        exchange.setException(new UpstreamFailure(mapped.status() == 504 ? 504 : 502, mapped.code(),
                mapped.getMessage(), false, 0, cause));
        callback.done(false);
    }

    private boolean mayRetry(ProxyRequest request) {
        return !request.clientGone() && request.attempts().size() < maxAttempts;
    }

}
