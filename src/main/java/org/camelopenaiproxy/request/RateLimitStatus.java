package org.camelopenaiproxy.request;

import io.vertx.core.MultiMap;

/**
 * A key's request and token budget as OpenAI reports it in {@code x-ratelimit-*} headers: limit,
 * remaining, and time until the bucket is full again. {@code -1} limits are not reported.
 */
public record RateLimitStatus(long limitRequests, long remainingRequests, long resetRequestsNanos,
        long limitTokens, long remainingTokens, long resetTokensNanos) {

    public static final String LIMIT_REQUESTS = "x-ratelimit-limit-requests";
    public static final String REMAINING_REQUESTS = "x-ratelimit-remaining-requests";
    public static final String RESET_REQUESTS = "x-ratelimit-reset-requests";
    public static final String LIMIT_TOKENS = "x-ratelimit-limit-tokens";
    public static final String REMAINING_TOKENS = "x-ratelimit-remaining-tokens";
    public static final String RESET_TOKENS = "x-ratelimit-reset-tokens";
    public static final String PREFIX = "x-ratelimit-";

    /** Replaces any upstream {@code x-ratelimit-*} headers with the caller's own. */
    public void writeTo(MultiMap headers) {
        if (limitRequests < 0 && limitTokens < 0) {
            return;
        }
        for (String name : headers.names()) {
            if (name.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
                headers.remove(name);
            }
        }
        if (limitRequests >= 0) {
            headers.set(LIMIT_REQUESTS, Long.toString(limitRequests));
            headers.set(REMAINING_REQUESTS, Long.toString(Math.max(0, remainingRequests)));
            headers.set(RESET_REQUESTS, duration(resetRequestsNanos));
        }
        if (limitTokens >= 0) {
            headers.set(LIMIT_TOKENS, Long.toString(limitTokens));
            headers.set(REMAINING_TOKENS, Long.toString(Math.max(0, remainingTokens)));
            headers.set(RESET_TOKENS, duration(resetTokensNanos));
        }
    }

    /** OpenAI's duration format: {@code 20ms}, {@code 1.5s}, {@code 6m0s}, {@code 1h2m3s}. */
    public static String duration(long nanos) {
        long ms = Math.max(0, (nanos + 999_999) / 1_000_000);
        if (ms < 1000) {
            return ms + "ms";
        }
        if (ms < 60_000) {
            long whole = ms / 1000;
            long frac = ms % 1000;
            if (frac == 0) {
                return whole + "s";
            }
            String f = String.format("%03d", frac).replaceAll("0+$", "");
            return whole + "." + f + "s";
        }
        long s = (ms + 999) / 1000;
        long h = s / 3600;
        long m = (s % 3600) / 60;
        long sec = s % 60;
        return h > 0 ? h + "h" + m + "m" + sec + "s" : m + "m" + sec + "s";
    }
}
