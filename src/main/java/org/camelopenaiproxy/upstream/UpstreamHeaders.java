package org.camelopenaiproxy.upstream;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.vertx.core.MultiMap;

/**
 * The boundary: the only class that decides which headers cross to the upstream and which come
 * back to the client. Both directions are allow-lists, so hop-by-hop headers, Camel's internal
 * headers, the client's proxy key, cookies and {@code Accept-Encoding} never cross.
 */
public final class UpstreamHeaders {

    /** Client headers forwarded upstream (lower case), besides the prefixes below. */
    public static final Set<String> TO_UPSTREAM = Set.of(
            "content-type", "accept", "accept-language", "user-agent", "x-request-id", "x-client-request-id");
    public static final String[] TO_UPSTREAM_PREFIXES = {"openai-", "x-stainless-"};

    /** Upstream headers returned to the client (lower case), besides the prefixes below. */
    public static final Set<String> TO_CLIENT = Set.of(
            "content-type", "content-length", "content-disposition", "content-encoding",
            "x-request-id", "retry-after", "retry-after-ms");
    public static final String[] TO_CLIENT_PREFIXES = {"openai-", "x-ratelimit-"};

    private UpstreamHeaders() {
    }

    /** Copies the allowed message headers into the upstream request's headers. */
    public static void toUpstream(Map<String, Object> messageHeaders, MultiMap upstream) {
        for (Map.Entry<String, Object> h : messageHeaders.entrySet()) {
            Object value = h.getValue();
            if (value instanceof String s && allowed(h.getKey(), TO_UPSTREAM, TO_UPSTREAM_PREFIXES)) {
                upstream.add(h.getKey(), s);
            }
        }
    }

    /** Copies the allowed upstream response headers into the client response's headers. */
    public static void toClient(MultiMap upstream, MultiMap client) {
        for (Map.Entry<String, String> h : upstream) {
            if (allowed(h.getKey(), TO_CLIENT, TO_CLIENT_PREFIXES)) {
                client.add(h.getKey(), h.getValue());
            }
        }
    }

    static boolean allowed(String name, Set<String> exact, String[] prefixes) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (exact.contains(lower)) {
            return true;
        }
        for (String p : prefixes) {
            if (lower.startsWith(p)) {
                return true;
            }
        }
        return false;
    }
}
