package org.camelopenaiproxy.inbound;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.Settlement;
import org.camelopenaiproxy.request.StreamingBody;

/**
 * Pipeline step {@code requestBodyReader}: reads the client's body without blocking and makes it the
 * message body, byte for byte as sent (never parsed or re-serialized here).
 * <ul>
 * <li>Each endpoint has its cap ({@link BodyLimits}): a declared length over it is refused with 413
 * before a byte of the body is read; a chunked body is refused as soon as it passes the cap.</li>
 * <li>A JSON body (on any endpoint), and the body of an endpoint that runs on the model it names
 * (audio transcriptions and translations, multipart), is always read whole into memory, whatever
 * its size up to its cap, so that the model allow-list, aliases, validation and the token
 * reservation apply to every request: it is never forwarded before {@code requestInspector} has
 * read it.</li>
 * <li>Any other body up to {@code proxy.request-buffer-bytes} is held in memory too (small
 * uploads); a larger one with a declared length (file uploads and upload parts, which name no
 * model) stays in the paused request: the message body becomes a {@link StreamingBody} that the
 * upstream call pipes through.</li>
 * <li>Every buffered body takes its size from the proxy-wide {@link BufferBudget} until its request
 * ends; a body that does not fit gets 503, so memory stays bounded under many large bodies.</li>
 * </ul>
 */
public class RequestBodyReader extends AsyncProcessorSupport {

    private final Vertx vertx;
    private final BodyLimits limits;
    private final long bufferBytes;
    private final BufferBudget budget;
    private final long readTimeoutMillis;

    public RequestBodyReader(Vertx vertx, BodyLimits limits, long bufferBytes, BufferBudget budget,
            long readTimeoutMillis) {
        this.vertx = vertx;
        this.limits = limits;
        this.bufferBytes = bufferBytes;
        this.budget = budget;
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
        String contentType = req.getHeader(ProxyHeaders.CONTENT_TYPE);
        long maxBytes = limits.maxBytes(request.path(), contentType);
        if (declared > maxBytes) {
            exchange.setException(ProxyException.requestTooLarge(maxBytes));
            callback.done(true);
            return true;
        }
        if (declared > bufferBytes && !JsonEndpoints.inspectedWhole(request.path(), contentType)) {
            continueIfAsked(req);
            request.markBodyConsumed(); // the upstream call consumes it
            request.markBodyStreamed();
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
        long[] taken = {0};
        request.atEnd(Settlement.BODY_BUFFER, outcome -> budget.give(taken[0]));
        if (declared > 0) {
            if (!budget.take(declared)) {
                request.retryAfter(BUSY_RETRY_MS);
                exchange.setException(BUSY);
                callback.done(true);
                return true;
            }
            taken[0] = declared;
        }
        continueIfAsked(req); // the client waits for this before sending the body (curl does)
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
            long size = body.length() + (long) chunk.length();
            ProxyException refused = size > maxBytes ? ProxyException.requestTooLarge(maxBytes)
                    : size > taken[0] && !grow(taken, size) ? BUSY : null;
            if (refused != null) {
                if (refused == BUSY) {
                    request.retryAfter(BUSY_RETRY_MS);
                }
                finished[0] = true;
                vertx.cancelTimer(timer);
                req.handler(null);
                exchange.setException(refused);
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

    private static final long BUSY_RETRY_MS = 1000;
    private static final ProxyException BUSY = ProxyException.unavailable(
            "The proxy is holding as many request bodies in memory as it may; retry shortly.");

    /** A body of unknown length (chunked) grew to {@code size}: takes the difference from the budget. */
    private boolean grow(long[] taken, long size) {
        if (!budget.take(size - taken[0])) {
            return false;
        }
        taken[0] = size;
        return true;
    }

    private static void continueIfAsked(HttpServerRequest req) {
        if ("100-continue".equalsIgnoreCase(req.getHeader("Expect"))) {
            req.response().writeContinue();
        }
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
