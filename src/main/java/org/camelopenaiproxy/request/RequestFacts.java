package org.camelopenaiproxy.request;

/**
 * What the pipeline learned from a request body: the model the client asked for, the one the
 * upstream gets (after aliases), the output-token cap, whether it streams, the prompt-token estimate
 * ({@link org.camelopenaiproxy.pipeline.policy.PromptEstimate}), and whether the answer is deterministic enough to cache
 * ({@code temperature: 0} or a {@code seed}).
 */
public record RequestFacts(String requestedModel, String model, Long maxOutputTokens, boolean stream,
        boolean includeUsage, long promptTokenEstimate, boolean deterministic) {

    public static final RequestFacts UNKNOWN = new RequestFacts(null, null, null, false, false, 0, false);
}
