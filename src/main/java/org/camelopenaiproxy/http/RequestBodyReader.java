package org.camelopenaiproxy.http;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;
import org.camelopenaiproxy.errors.ProxyException;

/**
 * Pipeline step {@code requestBodyReader}: reads the client's body without blocking and makes it the
 * message body, byte for byte as sent (never parsed or re-serialized here).
 * <ul>
 * <li>A declared length over {@code proxy.max-request-bytes} is refused with 413 before a byte of
 * it is read; a chunked body is refused as soon as it passes the limit.</li>
 * <li>A body up to {@code proxy.request-buffer-bytes} is held in memory as a Vert.x {@link Buffer}
 * (JSON requests, small uploads), so it can be inspected and re-sent.</li>
 * <li>A larger body with a declared length (big file uploads) stays in the paused request: the
 * message body becomes a {@link StreamingBody} that the upstream call pipes through.</li>
 * </ul>
 */
public class RequestBodyReader extends AsyncProcessorSupport {

    private final Vertx vertx;
    private final long maxRequestBytes;
    private final long bufferBytes;
    private final long readTimeoutMillis;

    public RequestBodyReader(Vertx vertx, long maxRequestBytes, long bufferBytes, long readTimeoutMillis) {
        this.vertx = vertx;
        this.maxRequestBytes = maxRequestBytes;
        this.bufferBytes = bufferBytes;
        this.readTimeoutMillis = readTimeoutMillis;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        ProxyRequest request = ProxyRequest.of(exchange);
        HttpServerRequest req = request.request();
        long declared;
        try {
            declared = declaredLength(req);
        } catch (NumberFormatException e) {
            exchange.setException(ProxyException.badRequest("invalid_content_length", "Invalid Content-Length header."));
            callback.done(true);
            return true;
        }
        if (declared > maxRequestBytes) {
            exchange.setException(ProxyException.requestTooLarge(maxRequestBytes));
            callback.done(true);
            return true;
        }
        if (declared > bufferBytes) {
            if ("100-continue".equalsIgnoreCase(req.getHeader("Expect"))) {
                req.response().writeContinue();
            }
            request.markBodyConsumed(); // the upstream call consumes it
            exchange.getMessage().setBody(new StreamingBody(req, declared));
            callback.done(true);
            return true;
        }
        if (req.isEnded()) {
            request.markBodyConsumed();
            exchange.getMessage().setBody(Buffer.buffer());
            callback.done(true);
            return true;
        }
        if ("100-continue".equalsIgnoreCase(req.getHeader("Expect"))) {
            req.response().writeContinue(); // the client waits for this before sending the body (curl does)
        }
        Buffer body = Buffer.buffer(declared > 0 ? (int) declared : 256);
        boolean[] finished = {false};
        // a client that sends its body too slowly (or stops) gets 408 and its connection is closed
        long timer = readTimeoutMillis <= 0 ? -1 : vertx.setTimer(readTimeoutMillis, id -> {
            if (!finished[0]) {
                finished[0] = true;
                req.handler(null);
                exchange.setException(new ProxyException(408, "invalid_request_error", "request_timeout", null,
                        "The request body did not arrive within " + readTimeoutMillis + " ms."));
                callback.done(false);
            }
        });
        req.handler(chunk -> {
            if (finished[0]) {
                return;
            }
            if (body.length() + (long) chunk.length() > maxRequestBytes) {
                finished[0] = true;
                vertx.cancelTimer(timer);
                req.handler(null);
                exchange.setException(ProxyException.requestTooLarge(maxRequestBytes));
                callback.done(false);
                return;
            }
            body.appendBuffer(chunk);
        });
        req.exceptionHandler(e -> {
            if (!finished[0]) {
                finished[0] = true;
                vertx.cancelTimer(timer);
                exchange.setException(ProxyException.badRequest("incomplete_body", "The request body could not be read."));
                callback.done(false);
            }
        });
        req.endHandler(v -> {
            if (!finished[0]) {
                finished[0] = true;
                vertx.cancelTimer(timer);
                request.markBodyConsumed();
                exchange.getMessage().setBody(body);
                callback.done(false);
            }
        });
        req.resume();
        return false;
    }

    private static long declaredLength(HttpServerRequest req) {
        String value = req.getHeader(ProxyHeaders.CONTENT_LENGTH);
        if (value == null) {
            return -1;
        }
        long n = Long.parseLong(value.trim());
        if (n < 0) {
            throw new NumberFormatException();
        }
        return n;
    }
}
