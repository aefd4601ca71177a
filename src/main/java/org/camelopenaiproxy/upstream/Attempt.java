package org.camelopenaiproxy.upstream;

/** One try of the upstream call: where it went, what came of it (status, or error), and how long it took. */
public record Attempt(String deployment, int status, String error, long durationMs) {
}
