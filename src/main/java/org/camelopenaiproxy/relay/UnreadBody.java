package org.camelopenaiproxy.relay;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;

/**
 * An HTTP/1.x request answered before its body was read (a wrong key 401, a 413, a 429...): the
 * client is still sending, or its bytes wait unread in the socket. Closing the connection then
 * makes the kernel reset it, and a client that has not yet read the answer loses it: it sees
 * "connection reset" instead of the 401. So the answer is written and the body is read and thrown
 * away afterwards:
 * <ul>
 * <li>a body of at most {@code keepAliveBytes} (or a chunked one, until it grows past that) keeps the
 * connection usable for the next request, as if the body had been read;</li>
 * <li>a body declared larger (or a chunked one past that size, or one the client was told to hold
 * back with 100-continue) gets {@code Connection: close}, and the connection is closed once the body
 * has ended (nginx's "lingering close");</li>
 * <li>either way, a client that stops sending is disconnected {@code lingerMillis} after the answer;</li>
 * <li>a body framed any other way (a transfer coding besides chunked) is not read: the connection
 * closes after the answer.</li>
 * </ul>
 * HTTP/2 ends just the stream, so nothing is done there.
 */
public class UnreadBody {

    private final Vertx vertx;
    private final long keepAliveBytes;
    private final long lingerMillis;

    public UnreadBody(Vertx vertx, long keepAliveBytes, long lingerMillis) {
        this.vertx = vertx;
        this.keepAliveBytes = keepAliveBytes;
        this.lingerMillis = lingerMillis;
    }

    /** Whether {@code req} still has body bytes to come on an HTTP/1.x connection. */
    public static boolean pending(ProxyRequest request) {
        HttpServerRequest req = request.request();
        return !request.bodyConsumed() && !req.isEnded() && req.version() != HttpVersion.HTTP_2 && hasBody(req);
    }

    /** Ends {@code response} with {@code bytes}, then reads and discards the rest of the request's body. */
    public void endAndDiscard(HttpServerRequest req, HttpServerResponse response, Buffer bytes) {
        long declared = declaredLength(req);
        if (declared < 0) { // framed in a way the proxy refuses: no telling where it ends, so no reading it
            response.putHeader(ProxyHeaders.CONNECTION, "close");
            response.end(bytes).onComplete(v -> req.connection().close());
            return;
        }
        boolean keep = declared <= keepAliveBytes && !"100-continue".equalsIgnoreCase(req.getHeader("Expect"));
        if (!keep) {
            response.putHeader(ProxyHeaders.CONNECTION, "close");
        }
        boolean[] close = {!keep};
        long[] seen = {0};
        long timer = lingerMillis <= 0 ? -1 : vertx.setTimer(lingerMillis, id -> req.connection().close());
        req.exceptionHandler(e -> vertx.cancelTimer(timer)); // the connection is going anyway
        req.handler(chunk -> {
            seen[0] += chunk.length();
            if (seen[0] > keepAliveBytes) {
                close[0] = true; // a chunked body that turned out too large to keep the connection for
            }
        });
        req.endHandler(v -> {
            vertx.cancelTimer(timer);
            if (close[0]) {
                req.connection().close();
            }
        });
        response.end(bytes);
        req.resume();
    }

    private static boolean hasBody(HttpServerRequest req) {
        String length = req.getHeader(ProxyHeaders.CONTENT_LENGTH);
        if (length != null) {
            return !"0".equals(length.trim());
        }
        return req.getHeader("Transfer-Encoding") != null;
    }

    /**
     * The declared length; 0 for a chunked body (its size shows as it is read); -1 for any other
     * framing (a transfer coding besides chunked, or both headers); {@code Long.MAX_VALUE} if unreadable.
     */
    private static long declaredLength(HttpServerRequest req) {
        String length = req.getHeader(ProxyHeaders.CONTENT_LENGTH);
        String coding = req.getHeader("Transfer-Encoding");
        if (coding != null) {
            return length == null && "chunked".equalsIgnoreCase(coding.trim()) ? 0 : -1;
        }
        try {
            return Long.parseLong(length.trim());
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }
}
