package org.camelopenaiproxy.upstream;

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
    private static final String[] TO_UPSTREAM_NAMES = TO_UPSTREAM.toArray(String[]::new);

    /** Upstream headers returned to the client (lower case), besides the prefixes below. */
    public static final Set<String> TO_CLIENT = Set.of(
            "content-type", "content-length", "content-disposition", "content-encoding",
            "x-request-id", "retry-after", "retry-after-ms");
    public static final String[] TO_CLIENT_PREFIXES = {"openai-", "x-ratelimit-"};
    private static final String[] TO_CLIENT_NAMES = TO_CLIENT.toArray(String[]::new);

    private UpstreamHeaders() {
    }

    /** Copies the allowed message headers into the upstream request's headers. */
    public static void toUpstream(Map<String, Object> messageHeaders, MultiMap upstream) {
        for (Map.Entry<String, Object> h : messageHeaders.entrySet()) {
            Object value = h.getValue();
            if (value instanceof String s && allowed(h.getKey(), TO_UPSTREAM_NAMES, TO_UPSTREAM_PREFIXES)) {
                upstream.add(h.getKey(), s);
            }
        }
    }

    /** Copies the allowed upstream response headers into the client response's headers. */
    public static void toClient(MultiMap upstream, MultiMap client) {
        for (Map.Entry<String, String> h : upstream) {
            if (allowed(h.getKey(), TO_CLIENT_NAMES, TO_CLIENT_PREFIXES)) {
                client.add(h.getKey(), h.getValue());
            }
        }
    }

    /**
     * Whether {@code name}, compared without case, is one of {@code exact} or starts with one of
     * {@code prefixes} (both lower case). Compares in place: lower-casing a copy of every header
     * name of every request showed in the profile.
     */
    private static boolean allowed(String name, String[] exact, String[] prefixes) {
        for (String e : exact) {
            if (name.length() == e.length() && startsWithLowerCase(name, e)) {
                return true;
            }
        }
        for (String p : prefixes) {
            if (startsWithLowerCase(name, p)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code name} starts with {@code lower} (ASCII lower case), ignoring ASCII case. Header
     * names are HTTP tokens (ASCII); and none of the names above has a 'k', the one ASCII letter a
     * non-ASCII character (the Kelvin sign) lower-cases to, so this answers as
     * {@code name.toLowerCase(Locale.ROOT).startsWith(lower)} would.
     */
    private static boolean startsWithLowerCase(String name, String lower) {
        int n = lower.length();
        if (name.length() < n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c + ('a' - 'A'));
            }
            if (c != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
