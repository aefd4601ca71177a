package org.camelopenaiproxy.request;

/** Token usage as the upstream reported it ({@code prompt/completion} or {@code input/output} tokens). */
public record Usage(long promptTokens, long completionTokens) {

    public long totalTokens() {
        return promptTokens + completionTokens;
    }
}
