package org.camelopenaiproxy.inbound;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import io.vertx.core.MultiMap;

/**
 * CORS for browser front ends ({@code proxy.cors.*}): which origins may call, with which methods and
 * request headers, and which response headers their scripts may read. An origin that is not allowed
 * gets no CORS headers at all (its preflight is refused), so the browser keeps the answer from it.
 */
public final class CorsPolicy {

    /** Response headers a browser script may read: the request id, rate limits, retry hints, cache status. */
    public static final String EXPOSED = String.join(", ", "x-request-id", "x-upstream-request-id",
            "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-requests",
            "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "retry-after",
            "retry-after-ms", "x-proxy-cache", "idempotent-replayed", "openai-processing-ms", "openai-version",
            "openai-organization");

    private final boolean anyOrigin;
    private final Set<String> origins;
    private final Set<String> methods;
    private final List<String> headers;
    private final long maxAgeSeconds;
    private final boolean credentials;

    public CorsPolicy(String allowedOrigins, String allowedMethods, String allowedHeaders, long maxAgeSeconds,
            boolean credentials) {
        Set<String> o = split(allowedOrigins, false);
        this.anyOrigin = o.contains("*");
        this.origins = o;
        this.methods = split(allowedMethods, true).stream().map(m -> m.toUpperCase(Locale.ROOT)).collect(Collectors.toSet());
        this.headers = new ArrayList<>(split(allowedHeaders, true));
        this.maxAgeSeconds = maxAgeSeconds;
        this.credentials = credentials;
    }

    public boolean enabled() {
        return anyOrigin || !origins.isEmpty();
    }

    public boolean allows(String origin) {
        return origin != null && (anyOrigin || origins.contains(origin));
    }

    /** Headers for an actual (non-preflight) request from an allowed origin. */
    public void answer(String origin, MultiMap response) {
        response.set("Access-Control-Allow-Origin", origin);
        response.add("Vary", "Origin");
        response.set("Access-Control-Expose-Headers", EXPOSED);
        if (credentials) {
            response.set("Access-Control-Allow-Credentials", "true");
        }
    }

    /**
     * The preflight answer's headers, or {@code false} when the method or a requested header is not
     * allowed.
     */
    public boolean preflight(String origin, String method, String requestedHeaders, MultiMap response) {
        if (method == null || !methods.contains(method.trim().toUpperCase(Locale.ROOT))) {
            return false;
        }
        List<String> granted = new ArrayList<>();
        if (requestedHeaders != null) {
            for (String h : requestedHeaders.split(",")) {
                String name = h.trim().toLowerCase(Locale.ROOT);
                if (name.isEmpty()) {
                    continue;
                }
                if (!headerAllowed(name)) {
                    return false;
                }
                granted.add(name);
            }
        }
        response.set("Access-Control-Allow-Origin", origin);
        response.add("Vary", "Origin");
        response.set("Access-Control-Allow-Methods", String.join(", ", methods));
        if (!granted.isEmpty()) {
            response.set("Access-Control-Allow-Headers", String.join(", ", granted));
        }
        response.set("Access-Control-Max-Age", Long.toString(maxAgeSeconds));
        if (credentials) {
            response.set("Access-Control-Allow-Credentials", "true");
        }
        return true;
    }

    private boolean headerAllowed(String name) {
        for (String allowed : headers) {
            if (allowed.equals("*") || allowed.equals(name)
                    || (allowed.endsWith("*") && name.startsWith(allowed.substring(0, allowed.length() - 1)))) {
                return true;
            }
        }
        return false;
    }

    private static Set<String> split(String list, boolean lower) {
        if (list == null) {
            return Set.of();
        }
        return java.util.Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .map(s -> lower ? s.toLowerCase(Locale.ROOT) : s).collect(Collectors.toCollection(java.util.LinkedHashSet::new));
    }
}
