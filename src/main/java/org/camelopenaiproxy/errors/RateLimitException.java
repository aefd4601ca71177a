package org.camelopenaiproxy.errors;


/** A 429 (or 503 for the proxy-wide cap) that tells the client when to come back. */
public class RateLimitException extends ProxyException {

    private final long retryAfterMillis;

    public RateLimitException(int status, String type, String code, String message, long retryAfterMillis) {
        super(status, type, code, null, message);
        this.retryAfterMillis = retryAfterMillis;
    }

    public long retryAfterMillis() {
        return retryAfterMillis;
    }

    /** Whole seconds for {@code Retry-After}, never 0 so that clients do wait. */
    public long retryAfterSeconds() {
        return Math.max(1, (retryAfterMillis + 999) / 1000);
    }
}
