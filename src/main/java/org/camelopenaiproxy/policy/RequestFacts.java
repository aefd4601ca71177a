package org.camelopenaiproxy.policy;

/**
 * What the pipeline learned from a request body: the model the client asked for, the one the
 * upstream gets (after aliases), the output-token cap, whether it streams, and the body size that
 * the prompt-token estimate is made from.
 */
public record RequestFacts(String requestedModel, String model, Long maxOutputTokens, boolean stream,
        boolean includeUsage, int bodyBytes) {

    public static final RequestFacts UNKNOWN = new RequestFacts(null, null, null, false, false, 0);

    /** A cheap, deliberately generous prompt-token estimate: about four bytes of JSON per token. */
    public long promptTokenEstimate() {
        return (bodyBytes + 3L) / 4;
    }
}
