package org.camelopenaiproxy.request;


/**
 * Who sent the request: its key once step {@code authenticate} found it, and the key's rate-limit
 * state after step {@code throttle} admitted or refused the request (the {@code x-ratelimit-*} headers).
 */
public record Caller(ClientKey key, RateLimitStatus rateLimits) {

    static final Caller UNKNOWN = new Caller(null, null);
}
