package org.camelopenaiproxy.wiring;

import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.PropertyInject;
import org.apache.camel.spi.Registry;
import org.camelopenaiproxy.pipeline.limits.KeyRateLimiter;
import org.camelopenaiproxy.pipeline.limits.LocalRateLimitStore;
import org.camelopenaiproxy.pipeline.limits.RateLimitStore;
import org.camelopenaiproxy.request.Limits;

/**
 * How much a key may use: the {@code throttle} step and the store of its counters. A store bound
 * under {@link #RATE_LIMIT_STORE} before the proxy's configurations run (a shared store) replaces the embedded one.
 */
public class LimitsConfiguration implements CamelConfiguration {

    public static final String RATE_LIMIT_STORE = "rateLimitStore";

    @BindToRegistry(RATE_LIMIT_STORE)
    public RateLimitStore rateLimitStore(Registry registry) {
        return Beans.boundOr(registry, RATE_LIMIT_STORE, RateLimitStore.class, LocalRateLimitStore::new);
    }

    /** Uses the store of this class, so it is made on first use (by the routes). */
    @BindToRegistry(lazy = true)
    public KeyRateLimiter throttle(@BeanInject(RATE_LIMIT_STORE) RateLimitStore store,
            @PropertyInject("proxy.limits.default.max-concurrent") int maxConcurrent,
            @PropertyInject("proxy.limits.default.requests-per-minute") long requestsPerMinute,
            @PropertyInject("proxy.limits.default.tokens-per-minute") long tokensPerMinute,
            @PropertyInject("proxy.limits.max-in-flight") int maxInFlight,
            @PropertyInject("proxy.limits.default-completion-tokens") long defaultCompletionTokens) {
        Limits defaults = new Limits(maxConcurrent > 0 ? maxConcurrent : null,
                requestsPerMinute > 0 ? requestsPerMinute : null,
                tokensPerMinute > 0 ? tokensPerMinute : null);
        return new KeyRateLimiter(store, defaults, maxInFlight, defaultCompletionTokens);
    }
}
