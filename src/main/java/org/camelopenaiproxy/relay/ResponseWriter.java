package org.camelopenaiproxy.relay;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.errors.RateLimitException;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.StoredResponse;
import org.camelopenaiproxy.upstream.UpstreamResponse;

/**
 * Writes a finished exchange back to the client: an upstream answer is relayed chunk by chunk
 * ({@link ResponseRelay}); anything else (an error the proxy made, a body a route set) is written
 * whole. Runs on the request's event loop.
 */
public class ResponseWriter {


    private final ResponseRelay relay;
    private final UnreadBody unreadBody;

    public ResponseWriter(ResponseRelay relay, UnreadBody unreadBody) {
        this.relay = relay;
        this.unreadBody = unreadBody;
    }

    public void write(Exchange exchange, ProxyRequest request) {
        HttpServerResponse response = request.request().response();
        Message message = exchange.getMessage();
        Object body = message.getBody();
        if (exchange.getException() != null) {
            // only reachable by a route that does not use the 'errors' route configuration
            writeError(request, OpenAiError.from(exchange.getException()));
            return;
        }
        if (body instanceof UpstreamResponse upstream) {
            if (request.clientGone() || response.closed()) {
                upstream.cancel();
                clientGone(request);
                return;
            }
            relay.relay(request, upstream, response);
            return;
        }
        if (request.clientGone() || response.closed()) {
            clientGone(request);
            return;
        }
        if (body instanceof StoredResponse stored) {
            if (request.reply().replayed()) {
                response.putHeader(ProxyHeaders.IDEMPOTENT_REPLAYED, "true");
            }
            replay(request, response, stored);
            return;
        }
        int status = message.getHeader(Exchange.HTTP_RESPONSE_CODE, 200, Integer.class);
        String contentType = message.getHeader(Exchange.CONTENT_TYPE, String.class);
        Buffer bytes = toBuffer(exchange, body);
        response.setStatusCode(status);
        if (contentType != null) {
            response.putHeader(ProxyHeaders.CONTENT_TYPE, contentType);
        }
        io.vertx.core.MultiMap upstreamHeaders = request.reply().upstreamHeaders();
        if (upstreamHeaders != null) {
            // an upstream's own error answer: its headers, already masked
            for (String name : upstreamHeaders.names()) {
                response.headers().set(name, upstreamHeaders.getAll(name));
            }
        }
        Long retryAfter = request.reply().retryAfterMillis();
        if (retryAfter != null) {
            retryAfter(response, retryAfter);
        }
        writeWhole(request, response, status, bytes);
    }

    /** The client left before its answer could be written: the request ends here (499, as nginx logs it). */
    private static void clientGone(ProxyRequest request) {
        request.endedBy("client_closed");
        request.end(Outcome.clientLeft());
    }

    /** Replays a stored answer (cache hit or Idempotency-Key repeat); an SSE answer is sent as a stream. */
    private void replay(ProxyRequest request, HttpServerResponse response, StoredResponse stored) {
        if (request.diagnostics() != null) {
            request.diagnostics().response(Buffer.buffer(stored.body()));
        }
        response.setStatusCode(stored.status());
        for (java.util.Map.Entry<String, String> h : stored.headers()) {
            response.headers().add(h.getKey(), h.getValue());
        }
        if (stored.eventStream()) {
            response.setChunked(true);
            proxyHeaders(request, response);
            Buffer[] event = {Buffer.buffer()};
            SseReader.Sink eventByEvent = new SseReader.Sink() {
                @Override
                public void line(Buffer data, int start, int end) {
                    event[0].appendBuffer(data, start, end - start);
                    if (SseReader.isBlank(data, start, end)) { // an event ends: it goes out as one write
                        response.write(event[0]);
                        event[0] = Buffer.buffer();
                    }
                }

                @Override
                public void raw(Buffer data, int start, int end) {
                    event[0].appendBuffer(data, start, end - start);
                }
            };
            SseReader events = new SseReader();
            events.read(Buffer.buffer(stored.body()), eventByEvent);
            events.end(eventByEvent);
            end(request, response, stored.status(), event[0]);
        } else {
            end(request, response, stored.status(), Buffer.buffer(stored.body()));
        }
    }

    /** Answers with an OpenAI-shaped error; used for requests the pipeline never saw (404, 405). */
    public void writeError(ProxyRequest request, ProxyException error) {
        HttpServerResponse response = request.request().response();
        request.error(error);
        if (response.ended() || response.closed()) {
            clientGone(request);
            return;
        }
        response.setStatusCode(error.status());
        response.putHeader(ProxyHeaders.CONTENT_TYPE, OpenAiError.CONTENT_TYPE);
        if (error.status() == 405) {
            response.putHeader(ProxyHeaders.ALLOW, "GET, POST, DELETE");
        }
        if (error instanceof RateLimitException limited) {
            retryAfter(response, limited.retryAfterMillis());
        }
        writeWhole(request, response, error.status(), Buffer.buffer(OpenAiError.body(error.type(), error.code(),
                error.param(), OpenAiError.withRequestId(error.getMessage(), request.requestId()))));
    }

    /** {@code Retry-After} in whole seconds (at least 1) and {@code retry-after-ms}, as OpenAI sends them. */
    private static void retryAfter(HttpServerResponse response, long millis) {
        response.putHeader(ProxyHeaders.RETRY_AFTER, Long.toString(Math.max(1, (millis + 999) / 1000)));
        response.putHeader(ProxyHeaders.RETRY_AFTER_MS, Long.toString(millis));
    }

    /** The proxy's own headers on every answer it writes: cache status, request id, rate limits. */
    private static void proxyHeaders(ProxyRequest request, HttpServerResponse response) {
        if (response.headWritten()) {
            return;
        }
        response.headers().set(ProxyHeaders.X_PROXY_CACHE, request.cacheStatus());
        if (request.requestId() != null) {
            response.putHeader(ProxyHeaders.X_REQUEST_ID, request.requestId());
        }
        if (request.rateLimits() != null) {
            request.rateLimits().writeTo(response.headers());
        }
    }

    private void writeWhole(ProxyRequest request, HttpServerResponse response, int status, Buffer bytes) {
        if (request.diagnostics() != null) {
            request.diagnostics().response(bytes);
        }
        end(request, response, status, bytes);
    }

    /**
     * Ends the response; a request body still arriving (the request was refused before it was
     * needed) is read and discarded after the answer ({@link UnreadBody}).
     */
    private void end(ProxyRequest request, HttpServerResponse response, int status, Buffer bytes) {
        proxyHeaders(request, response);
        request.end(Outcome.completed(status));
        HttpServerRequest req = request.request();
        if (UnreadBody.pending(request)) {
            unreadBody.endAndDiscard(req, response, bytes);
        } else {
            resumeUnlessEnded(req);
            response.end(bytes);
        }
    }

    /**
     * Lets a body the answer did not need flow (and be dropped), so its connection's flow-control
     * credit comes back. A body already read to its end has nothing left to resume: an HTTP/2
     * request then refuses {@code resume()} ("Request has already been read"), and throwing here
     * would reset the stream instead of answering (a cache hit or an error after the body was read).
     */
    private static void resumeUnlessEnded(HttpServerRequest req) {
        if (req.isEnded()) {
            return;
        }
        try {
            req.resume();
        } catch (IllegalStateException ended) {
            // the body ended on the event loop since isEnded() was asked: nothing to resume
        }
    }

    private static Buffer toBuffer(Exchange exchange, Object body) {
        if (body == null) {
            return Buffer.buffer();
        }
        if (body instanceof Buffer b) {
            return b;
        }
        if (body instanceof byte[] b) {
            return Buffer.buffer(b);
        }
        byte[] converted = exchange.getContext().getTypeConverter().tryConvertTo(byte[].class, exchange, body);
        return converted == null ? Buffer.buffer(String.valueOf(body)) : Buffer.buffer(converted);
    }
}
