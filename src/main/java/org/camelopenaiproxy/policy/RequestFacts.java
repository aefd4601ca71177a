package org.camelopenaiproxy.policy;

/**
 * What the pipeline learned from a request body: the model the client asked for, the one the
 * upstream gets (after aliases), the output-token cap, whether it streams, the body size that
 * the prompt-token estimate is made from, and whether the answer is deterministic enough to cache
 * ({@code temperature: 0} or a {@code seed}).
 */
public record RequestFacts(String requestedModel, String model, Long maxOutputTokens, boolean stream,
        boolean includeUsage, int bodyBytes, boolean deterministic) {

    public static final RequestFacts UNKNOWN = new RequestFacts(null, null, null, false, false, 0, false);

    /** A cheap, deliberately generous prompt-token estimate: about four bytes of JSON per token. */
    public long promptTokenEstimate() {
        return (bodyBytes + 3L) / 4;
    }
}
