package org.camelopenaiproxy.request;

/**
 * A key's throttling limits; {@code null} means "not limited". {@link #orElse} fills what a key
 * leaves unset from the configured defaults.
 */
public record Limits(Integer maxConcurrent, Long requestsPerMinute, Long tokensPerMinute) {

    public static final Limits NONE = new Limits(null, null, null);

    public Limits orElse(Limits defaults) {
        return new Limits(
                maxConcurrent != null ? maxConcurrent : defaults.maxConcurrent,
                requestsPerMinute != null ? requestsPerMinute : defaults.requestsPerMinute,
                tokensPerMinute != null ? tokensPerMinute : defaults.tokensPerMinute);
    }
}
