package org.camelopenaiproxy.upstream;

import org.camelopenaiproxy.errors.ProxyException;

/**
 * An upstream attempt that failed in a way worth another try (connect error, timeout before the
 * response head, 429 or 5xx). Its status is what the client gets if no try succeeds: 503 when the
 * upstream was rate limiting or unavailable, 504 on timeouts, 502 otherwise.
 */
public class UpstreamFailure extends ProxyException {

    private final boolean retryable;
    private final long retryAfterMillis;

    public UpstreamFailure(int status, String code, String message, boolean retryable, long retryAfterMillis,
            Throwable cause) {
        super(status, "server_error", code, null, message, cause);
        this.retryable = retryable;
        this.retryAfterMillis = retryAfterMillis;
    }

    public boolean retryable() {
        return retryable;
    }

    /** What the upstream asked for in {@code Retry-After} / {@code retry-after-ms}, or 0. */
    public long retryAfterMillis() {
        return retryAfterMillis;
    }

    public UpstreamFailure withMessage(String message) {
        return new UpstreamFailure(status(), code(), message, retryable, retryAfterMillis, getCause());
    }
}
