package org.camelopenaiproxy.upstream;

import java.time.Duration;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Resilience4j circuit breaker per deployment, used directly from the non-blocking upstream call
 * (Camel's circuitBreaker EIP waits on a latch, which would block an event loop). A breaker opens
 * after repeated failures, makes the selector skip its deployment, and lets a probe through when
 * half open. State changes are logged; the registry is there for metrics.
 */
public class CircuitBreakers {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitBreakers.class);

    private final CircuitBreakerRegistry registry;
    private final java.util.concurrent.ConcurrentHashMap<String, CircuitBreaker> byName =
            new java.util.concurrent.ConcurrentHashMap<>();

    public CircuitBreakers(int failureRatePercent, int window, int minimumCalls, Duration openFor) {
        this.registry = CircuitBreakerRegistry.of(CircuitBreakerConfig.custom()
                .failureRateThreshold(failureRatePercent)
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(window)
                .minimumNumberOfCalls(minimumCalls)
                .waitDurationInOpenState(openFor)
                .permittedNumberOfCallsInHalfOpenState(1)
                // open -> half open when the wait is over, without waiting for a request (readiness shows it)
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .recordExceptions(Throwable.class)
                .build());
    }

    public CircuitBreaker forDeployment(String name) {
        CircuitBreaker cb = byName.get(name);
        return cb != null ? cb : byName.computeIfAbsent(name, n -> {
            CircuitBreaker created = registry.circuitBreaker(n);
            created.getEventPublisher().onStateTransition(e ->
                    LOG.warn("Circuit breaker of upstream '{}': {}", n, e.getStateTransition()));
            return created;
        });
    }

    public CircuitBreakerRegistry registry() {
        return registry;
    }
}
