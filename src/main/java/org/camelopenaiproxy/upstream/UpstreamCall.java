package org.camelopenaiproxy.upstream;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
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
import org.camelopenaiproxy.request.StreamingBody;

/**
 * Step {@code upstreamCall} of route {@code upstream}: one attempt at the upstream, with Vert.x's
 * non-blocking HTTP client. It picks a deployment ({@link UpstreamSelector}), swaps the client's
 * proxy key for the deployment's key, and completes when the response head arrives: status and
 * headers on the message, the paused {@link UpstreamResponse} as body. A connect error, a timeout
 * before the head, or a retryable status (429, 5xx) fails the attempt with an
 * {@link UpstreamFailure}, which the route's error handler may try again on another deployment.
 * Every attempt settles its circuit breaker and is recorded for the dead-letter channel. No
 * thread waits: everything runs on the request's event loop.
 */
public class UpstreamCall extends UpstreamAttemptProcessor {

    private static final int MAX_ERROR_BODY = 64 * 1024;
    private static final ProxyException EGRESS_REFUSED = ProxyException.upstreamUnreachable(
            "The egress proxy refused the proxy's credentials (407).", null);

    private final UpstreamClients clients;
    private final RetryPolicy retryPolicy;
    private final Timeouts timeouts;
    private final ReloadGate gate;
    private final UpstreamErrorRedactor errorRedactor;

    public UpstreamCall(UpstreamClients clients, UpstreamSelector selector, RetryPolicy retryPolicy, Timeouts timeouts,
            ReloadGate gate, UpstreamErrorRedactor errorRedactor) {
        super(selector, retryPolicy.budget());
        this.clients = clients;
        this.retryPolicy = retryPolicy;
        this.timeouts = timeouts;
        this.gate = gate;
        this.errorRedactor = errorRedactor;
    }

    @Override
    protected void attempt(Exchange exchange, ProxyRequest request, UpstreamSelector.Choice choice,
            AsyncCallback callback) {
        Message message = exchange.getMessage();
        String model = request.facts().model();
        Deployment deployment = choice.deployment();
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.valueOf(message.getHeader(Exchange.HTTP_METHOD, "GET", String.class)))
                .setHost(deployment.target().host())
                .setPort(deployment.target().port())
                .setSsl(deployment.target().ssl())
                .setURI(deployment.uriFor(request.path(), message.getHeader(Exchange.HTTP_QUERY, String.class), model))
                .setConnectTimeout(timeouts.connect())
                // until the response head; Vert.x cancels it there (the relay's Watchdog takes over)
                .setIdleTimeout(Math.min(timeouts.firstByte(), timeouts.total()));
        MultiMap headers = HttpHeaders.headers();
        UpstreamHeaders.toUpstream(message.getHeaders(), headers);
        deployment.authenticate(headers);
        options.setHeaders(headers);

        Object body = message.getBody();
        long started = System.nanoTime();
        gate.park();
        clients.http(deployment).request(clients.route(options, deployment)).onComplete(opened -> {
            if (opened.failed()) {
                failed(exchange, request, choice, started, opened.cause(), callback);
                return;
            }
            HttpClientRequest upstreamRequest = opened.result();
            request.upstreamRequest(upstreamRequest);
            send(upstreamRequest, body).onComplete(answered -> {
                if (answered.failed()) {
                    failed(exchange, request, choice, started, answered.cause(), callback);
                    return;
                }
                HttpClientResponse response = answered.result();
                int status = response.statusCode();
                if (status == 407 && clients.egress(deployment) != null) {
                    // a plain-HTTP upstream is reached through the egress proxy, which refused us
                    upstreamRequest.reset();
                    failed(exchange, request, choice, started, EGRESS_REFUSED, callback);
                    return;
                }
                if (retryPolicy.retryableStatus(status)) {
                    rejected(exchange, request, choice, started, response, callback);
                    return;
                }
                response.pause();
                if (status >= 500) {
                    choice.permit().httpFailed(System.nanoTime() - started, status); // passed on, not retried
                } else {
                    choice.permit().succeeded(System.nanoTime() - started);
                }
                request.addAttempt(new Attempt(deployment.name(), status, null, System.nanoTime() - started));
                request.upstreamAnswered(deployment.name(), response.getHeader(ProxyHeaders.X_REQUEST_ID));
                message.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
                message.setBody(new UpstreamResponse(upstreamRequest, response));
                gate.unpark();
                callback.done(false);
            });
        });
    }

    /**
     * The upstream answered 429 or 5xx: read its (small) error body, then fail the attempt, keeping
     * the answer (masked) for the client in case no retry does better. A 429 cools the deployment
     * down for the model; a 5xx counts against its health.
     */
    private void rejected(Exchange exchange, ProxyRequest request, UpstreamSelector.Choice choice, long started,
            HttpClientResponse response, AsyncCallback callback) {
        int status = response.statusCode();
        long retryAfter = retryAfterMillis(response);
        Buffer errorBody = Buffer.buffer();
        response.handler(chunk -> {
            if (errorBody.length() < MAX_ERROR_BODY) {
                errorBody.appendBuffer(chunk);
            }
        });
        response.exceptionHandler(e -> { });
        response.endHandler(v -> {
            long took = System.nanoTime() - started;
            if (status == 429) {
                choice.permit().rateLimited(took, retryAfter);
            } else {
                choice.permit().httpFailed(took, status);
            }
            request.addAttempt(new Attempt(choice.deployment().name(), status, null, took));
            // kept for whoever handles the failure: masked like any upstream error body
            Buffer masked = errorRedactor.redactBody(request, status, errorBody,
                    response.getHeader(HttpHeaders.CONTENT_ENCODING));
            request.lastUpstreamErrorBody(masked.toString());
            exchange.setException(new UpstreamFailure(answer(request, response, errorBody, masked),
                    status == 429 ? "upstream_rate_limited" : "upstream_error",
                    "The upstream API answered " + status + ".", retryAfter));
            gate.unpark();
            callback.done(false);
        });
    }

    private void failed(Exchange exchange, ProxyRequest request, UpstreamSelector.Choice choice, long started,
            Throwable cause, AsyncCallback callback) {
        if (request.clientGone()) {
            // we cancelled the call because the client left: says nothing about the upstream's health
            choice.permit().released();
        } else {
            choice.permit().connectionFailed(System.nanoTime() - started, cause);
        }
        ProxyException mapped = OpenAiError.from(cause);
        request.addAttempt(new Attempt(choice.deployment().name(), 0, mapped.getMessage(), System.nanoTime() - started));
        exchange.setException(new UpstreamFailure(mapped.status() == 504 ? 504 : 502, mapped.code(), mapped.getMessage(),
                !request.clientGone(), 0, cause));
        gate.unpark();
        callback.done(false);
    }

    /** The upstream's answer as the client may get it: allow-listed headers and body, both masked. */
    private UpstreamAnswer answer(ProxyRequest request, HttpClientResponse response, Buffer raw, Buffer masked) {
        MultiMap headers = HttpHeaders.headers();
        UpstreamHeaders.toClient(response.headers(), headers);
        headers.remove(ProxyHeaders.CONTENT_LENGTH); // the body may have been masked
        headers.remove(HttpHeaders.CONTENT_ENCODING);
        String upstreamId = headers.get(ProxyHeaders.X_REQUEST_ID);
        headers.remove(ProxyHeaders.X_REQUEST_ID); // the client gets ours; the upstream's goes alongside
        if (upstreamId != null) {
            headers.set(ProxyHeaders.X_UPSTREAM_REQUEST_ID, upstreamId);
        }
        if (masked != raw) {
            headers.set(ProxyHeaders.CONTENT_TYPE, OpenAiError.CONTENT_TYPE);
        }
        errorRedactor.redactHeaders(request, headers);
        return new UpstreamAnswer(response.statusCode(), headers, masked);
    }

    private static Future<HttpClientResponse> send(HttpClientRequest upstreamRequest, Object body) {
        if (body instanceof StreamingBody streaming) {
            upstreamRequest.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(streaming.length()));
            return upstreamRequest.send(streaming.source());
        }
        if (body instanceof Buffer buffer) {
            return upstreamRequest.send(buffer);
        }
        if (body instanceof byte[] bytes) {
            return upstreamRequest.send(Buffer.buffer(bytes));
        }
        if (body instanceof String text) {
            return upstreamRequest.send(text);
        }
        return upstreamRequest.send();
    }

    /** {@code retry-after-ms}, else {@code Retry-After} in seconds, else 0. */
    static long retryAfterMillis(HttpClientResponse response) {
        return retryAfterMillis(response.headers());
    }

    /** {@code retry-after-ms}, else {@code Retry-After} in seconds, else 0, from an upstream's answer headers. */
    public static long retryAfterMillis(MultiMap headers) {
        try {
            String ms = headers.get("retry-after-ms");
            if (ms != null) {
                return Math.max(0, (long) Double.parseDouble(ms.trim()));
            }
            String seconds = headers.get("retry-after");
            if (seconds != null) {
                return Math.max(0, (long) (Double.parseDouble(seconds.trim()) * 1000));
            }
        } catch (NumberFormatException dateOrGarbage) {
            // an HTTP date or nonsense: fall back to our own backoff
        }
        return 0;
    }

}
