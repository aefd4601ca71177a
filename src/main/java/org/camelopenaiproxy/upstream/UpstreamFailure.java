package org.camelopenaiproxy.upstream;

import org.camelopenaiproxy.errors.ProxyException;

/**
 * An upstream attempt that failed in a way worth another try (connect error, timeout before the
 * response head, 429 or 5xx). When the upstream answered, its {@link #answer()} is what the client
 * gets if no try succeeds (429 stays 429, with the upstream's body and headers); when it did not,
 * the proxy's own 504 on timeouts or 502 otherwise.
 */
public class UpstreamFailure extends ProxyException {

    private final boolean retryable;
    private final long retryAfterMillis;
    private final UpstreamAnswer answer;

    public UpstreamFailure(int status, String code, String message, boolean retryable, long retryAfterMillis,
            Throwable cause) {
        this(status, code, message, retryable, retryAfterMillis, cause, null);
    }

    /** The upstream answered {@code answer}: that status, body and headers go to the client if no retry helps. */
    public UpstreamFailure(UpstreamAnswer answer, String code, String message, long retryAfterMillis) {
        this(answer.status(), code, message, true, retryAfterMillis, null, answer);
    }

    private UpstreamFailure(int status, String code, String message, boolean retryable, long retryAfterMillis,
            Throwable cause, UpstreamAnswer answer) {
        super(status, status == 429 ? "rate_limit_error" : "server_error", code, null, message, cause);
        this.retryable = retryable;
        this.retryAfterMillis = retryAfterMillis;
        this.answer = answer;
    }

    /** The upstream's own answer, or {@code null} when no upstream answered (connect error, timeout). */
    public UpstreamAnswer answer() {
        return answer;
    }

    public boolean retryable() {
        return retryable;
    }

    /** What the upstream asked for in {@code Retry-After} / {@code retry-after-ms}, or 0. */
    public long retryAfterMillis() {
        return retryAfterMillis;
    }

    public UpstreamFailure withMessage(String message) {
        return new UpstreamFailure(status(), code(), message, retryable, retryAfterMillis, getCause(), answer);
    }
}
