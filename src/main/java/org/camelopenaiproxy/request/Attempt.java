package org.camelopenaiproxy.request;

/**
 * One try of the upstream call: where it went, what came of it (status, or error), and how long it
 * took until the response head (or the failure).
 */
public record Attempt(String deployment, int status, String error, long durationNanos) {

    public long durationMs() {
        return durationNanos / 1_000_000;
    }
}
