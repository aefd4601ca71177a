package org.camelopenaiproxy.inbound;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.relay.ResponseWriter;

/**
 * The edge of the API listener. Before routing ({@link #admit}): starts the connection's
 * bookkeeping ({@link ConnectionGuard}) and refuses request paths that could mean something else to
 * the upstream than to the proxy (dot segments, empty segments, encoded slashes, backslashes and
 * dots, encoded percent signs, control characters: 400). As the first route: refuses requests with
 * too many header lines (431), answers CORS preflights (no key needed) and puts the CORS headers on answers to
 * allowed origins.
 */
public class EdgeGuard {

    private final ConnectionGuard connections;
    private final CorsPolicy cors;
    private final int maxHeaders;
    private final ResponseWriter writer;

    public EdgeGuard(ConnectionGuard connections, CorsPolicy cors, int maxHeaders, ResponseWriter writer) {
        this.connections = connections;
        this.cors = cors;
        this.maxHeaders = maxHeaders;
        this.writer = writer;
    }

    public void handle(RoutingContext ctx, ProxyEntry entry) {
        HttpServerRequest req = ctx.request();
        if (maxHeaders > 0 && headerLines(req) > maxHeaders) { // HTTP/2 (HTTP/1.x: StrictRequestDecoder already did)
            entry.reject(ctx, new ProxyException(431, "invalid_request_error", "request_header_fields_too_large", null,
                    "Too many header lines (at most " + maxHeaders + ")."));
            return;
        }
        String origin = req.getHeader("Origin");
        if (origin != null && cors.enabled()) {
            if (req.method() == HttpMethod.OPTIONS && req.getHeader("Access-Control-Request-Method") != null) {
                preflight(ctx, entry, origin);
                return;
            }
            if (cors.allows(origin)) {
                cors.answer(origin, req.response().headers());
            }
        }
        ctx.next();
    }

    /** The most header lines a request may have (0 = no limit). */
    public int maxHeaders() {
        return maxHeaders;
    }

    /** Header lines, not names: {@code MultiMap.size()} counts each name once. */
    static int headerLines(HttpServerRequest req) {
        int n = 0;
        for (java.util.Map.Entry<String, String> ignored : req.headers()) {
            n++;
        }
        return n;
    }

    private void preflight(RoutingContext ctx, ProxyEntry entry, String origin) {
        HttpServerRequest req = ctx.request();
        if (!cors.allows(origin) || !cors.preflight(origin, req.getHeader("Access-Control-Request-Method"),
                req.getHeader("Access-Control-Request-Headers"), req.response().headers())) {
            entry.reject(ctx, new ProxyException(403, "invalid_request_error", "cors_not_allowed", null,
                    "This origin, method or header is not allowed by the proxy's CORS settings."));
            return;
        }
        req.response().setStatusCode(204).end();
    }

    /**
     * Before any routing (Vert.x Web would fail on some of these paths itself): counts the request
     * on its connection and refuses a path that is not plain. Returns whether to go on.
     */
    public boolean admit(HttpServerRequest req, ProxyEntry entry) {
        connections.requestArrived(req);
        String path = req.path();
        if (path == null || !safePath(path)) {
            entry.rejectUnrouted(req, INVALID_PATH);
            return false;
        }
        return true; // framing (Content-Length, Transfer-Encoding) was checked by StrictRequestDecoder
    }

    private static final ProxyException INVALID_PATH = ProxyException.badRequest("invalid_path",
            "The request path is not a plain path (dot segments, empty segments, encoded slashes or dots are refused).");

    /** A path the proxy and every upstream read the same way. */
    public static boolean safePath(String path) {
        if (path.isEmpty() || path.charAt(0) != '/' || path.contains("//")) {
            return false;
        }
        int n = path.length();
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c < 0x21 || c > 0x7e || c == '\\' || c == ';') {
                return false;
            }
            if (c == '%' && i + 2 < n) {
                String code = path.substring(i + 1, i + 3).toLowerCase(java.util.Locale.ROOT);
                if (code.equals("2e") || code.equals("2f") || code.equals("5c") || code.equals("25") || code.equals("00")) {
                    return false;
                }
            } else if (c == '%') {
                return false; // a truncated escape
            }
        }
        for (String segment : path.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }
}
