package org.camelopenaiproxy.upstream;

import java.util.function.Supplier;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.support.AsyncProcessorSupport;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.http.ProxyRequest;
import org.camelopenaiproxy.http.ReloadGate;
import org.camelopenaiproxy.http.StreamingBody;

/**
 * Pipeline step {@code upstreamCall}: forwards the request to the upstream with Vert.x's
 * non-blocking HTTP client, swapping the client's proxy key for the upstream key. The step
 * completes when the upstream's response head arrives (status and headers on the message, the
 * paused {@link UpstreamResponse} as body), or fails with a 502/504 {@link ProxyException}.
 * No thread waits: everything runs on the request's event loop.
 */
public class UpstreamCall extends AsyncProcessorSupport {

    private final HttpClient client;
    private final Supplier<UpstreamTarget> target;
    private final Timeouts timeouts;
    private final ReloadGate gate;

    public UpstreamCall(HttpClient client, Supplier<UpstreamTarget> target, Timeouts timeouts,
            ReloadGate gate) {
        this.client = client;
        this.target = target;
        this.timeouts = timeouts;
        this.gate = gate;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        ProxyRequest request = ProxyRequest.of(exchange);
        Message message = exchange.getMessage();
        UpstreamTarget upstream = target.get();
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.valueOf(message.getHeader(Exchange.HTTP_METHOD, "GET", String.class)))
                .setHost(upstream.host())
                .setPort(upstream.port())
                .setSsl(upstream.ssl())
                .setURI(upstream.uriFor(request.path(), message.getHeader(Exchange.HTTP_QUERY, String.class)))
                .setConnectTimeout(timeouts.connect())
                // until the response head; Vert.x cancels it there (the relay's Watchdog takes over)
                .setIdleTimeout(Math.min(timeouts.firstByte(), timeouts.total()));
        MultiMap headers = HttpHeaders.headers();
        UpstreamHeaders.toUpstream(message.getHeaders(), headers);
        headers.set(HttpHeaders.AUTHORIZATION, "Bearer " + upstream.apiKey());
        options.setHeaders(headers);

        Object body = message.getBody();
        gate.park();
        client.request(options).onComplete(opened -> {
            if (opened.failed()) {
                fail(exchange, callback, opened.cause());
                return;
            }
            HttpClientRequest upstreamRequest = opened.result();
            request.upstreamRequest(upstreamRequest);
            send(upstreamRequest, body).onComplete(answered -> {
                if (answered.failed()) {
                    fail(exchange, callback, answered.cause());
                    return;
                }
                HttpClientResponse response = answered.result();
                response.pause();
                message.setHeader(Exchange.HTTP_RESPONSE_CODE, response.statusCode());
                message.setBody(new UpstreamResponse(upstreamRequest, response));
                gate.unpark();
                callback.done(false);
            });
        });
        return false;
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

    private void fail(Exchange exchange, AsyncCallback callback, Throwable cause) {
        exchange.setException(cause instanceof ProxyException ? cause
                : ProxyException.class.isInstance(cause.getCause()) ? cause.getCause() : cause);
        gate.unpark();
        callback.done(false);
    }
}
