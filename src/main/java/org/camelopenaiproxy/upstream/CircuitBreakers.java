package org.camelopenaiproxy.upstream;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health the selector steers by, with Resilience4j circuit breakers used directly from the
 * non-blocking upstream call (Camel's circuitBreaker EIP waits on a latch, which would block an
 * event loop). Two granularities, because failures say different things:
 * <ul>
 * <li>one breaker per deployment for connection-level failures (connect error, reset, timeout
 * before the head): the host is unreachable whatever the model, so every model steers away;</li>
 * <li>one breaker per deployment and model for HTTP 5xx: a deployment answering 500 for one
 * model (an overloaded Azure deployment, a model in trouble) still serves the others.</li>
 * </ul>
 * A 429 counts against neither: it cools the deployment and model down for the upstream's
 * {@code Retry-After}/{@code retry-after-ms} (capped), the selector prefers others meanwhile.
 * Breakers and cool-downs only steer: {@link #panic} lets a request through to a deployment whose
 * breaker is open when nothing better is left. The clock is injectable, for tests.
 */
public class CircuitBreakers {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitBreakers.class);
    static final int MAX_MODEL_BREAKERS = 10_000;

    private final CircuitBreakerRegistry registry;
    private final Duration openFor;
    private final long defaultCooldownMillis;
    private final long maxCooldownMillis;
    private final Clock clock;
    private final Map<String, CircuitBreaker> byName = new ConcurrentHashMap<>();
    /**
     * Per deployment and model: outside the registry (a model name comes from the client, so it is
     * no metric label) and bounded, the least recently used forgotten (a forgotten one starts closed).
     */
    private final Cache<String, CircuitBreaker> byModel = Caffeine.newBuilder().maximumSize(MAX_MODEL_BREAKERS)
            .executor(Runnable::run)
            .removalListener((String name, CircuitBreaker breaker, com.github.benmanes.caffeine.cache.RemovalCause cause) ->
                    this.openUntil.remove(name)) // a forgotten breaker's open state goes with it
            .build();
    private final CircuitBreakerConfig config;
    /** breaker name -> when its open state ends (present while open). */
    private final Map<String, Instant> openUntil = new ConcurrentHashMap<>();
    /** deployment/model -> when its 429 cool-down ends (bounded like the per-model breakers: model names come from clients). */
    private final Map<String, Instant> coolingUntil = Caffeine.newBuilder().maximumSize(MAX_MODEL_BREAKERS)
            .<String, Instant>build().asMap();

    public CircuitBreakers(int failureRatePercent, int window, int minimumCalls, Duration openFor, int halfOpenCalls,
            long defaultCooldownMillis, long maxCooldownMillis, Clock clock) {
        this.openFor = openFor;
        this.defaultCooldownMillis = defaultCooldownMillis;
        this.maxCooldownMillis = maxCooldownMillis;
        this.clock = clock;
        this.config = CircuitBreakerConfig.custom()
                .failureRateThreshold(failureRatePercent)
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(window)
                .minimumNumberOfCalls(minimumCalls)
                .waitDurationInOpenState(openFor)
                // enough probes that a recovered upstream is trusted again after a few quick answers
                .permittedNumberOfCallsInHalfOpenState(Math.max(1, halfOpenCalls))
                // open -> half open on the next request after the wait (no timer thread; the clock decides)
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .clock(clock)
                .recordExceptions(Throwable.class)
                .build();
        this.registry = CircuitBreakerRegistry.of(config);
    }

    /** The connection-level breaker of a deployment (also what readiness shows). */
    public CircuitBreaker forDeployment(String name) {
        return breaker(name);
    }

    /** The HTTP-answer breaker of a deployment for one model. */
    public CircuitBreaker forModel(String deployment, String model) {
        return byModel.get(key(deployment, model), n -> observed(CircuitBreaker.of(n, config)));
    }

    /** The per-model breakers now known (for the health details). */
    public java.util.Collection<CircuitBreaker> modelBreakers() {
        return byModel.asMap().values();
    }

    /** "deployment/model": the name of an HTTP-answer breaker and the key of a cool-down. */
    private static String key(String deployment, String model) {
        return deployment + "/" + (model == null ? "" : model);
    }

    private CircuitBreaker breaker(String name) {
        CircuitBreaker cb = byName.get(name);
        return cb != null ? cb : byName.computeIfAbsent(name, n -> observed(registry.circuitBreaker(n)));
    }

    /** Logs state changes and remembers until when an open breaker stays open. */
    private CircuitBreaker observed(CircuitBreaker created) {
        String n = created.getName();
        created.getEventPublisher().onStateTransition(e -> {
            if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                openUntil.put(n, clock.instant().plus(openFor));
            } else {
                openUntil.remove(n);
            }
            LOG.warn("Circuit breaker of upstream '{}': {}", n, e.getStateTransition());
        });
        return created;
    }

    /** A normal permit, or {@code null} when a breaker refuses or the deployment cools down for the model. */
    public Permit acquire(Deployment deployment, String model) {
        if (coolingEnd(deployment, model) != null) {
            return null;
        }
        CircuitBreaker connection = forDeployment(deployment.name());
        if (!connection.tryAcquirePermission()) {
            return null;
        }
        CircuitBreaker http = forModel(deployment.name(), model);
        if (!http.tryAcquirePermission()) {
            connection.releasePermission();
            return null;
        }
        return new Permit(deployment, model, connection, http, false);
    }

    /** Whether the deployment looks able to take the model's requests now (closed breakers, not cooling down). */
    public boolean healthy(Deployment deployment, String model) {
        return coolingEnd(deployment, model) == null
                && forDeployment(deployment.name()).getState() == CircuitBreaker.State.CLOSED
                && forModel(deployment.name(), model).getState() == CircuitBreaker.State.CLOSED;
    }

    /** A permit in panic mode: nothing better is left, the request goes to this deployment anyway. */
    public Permit panic(Deployment deployment, String model) {
        return new Permit(deployment, model, forDeployment(deployment.name()), forModel(deployment.name(), model), true);
    }

    /** When the deployment is expected to take the model's requests again (now or earlier: already). */
    public Instant availableAt(Deployment deployment, String model) {
        Instant at = Instant.MIN;
        for (Instant end : new Instant[] {coolingEnd(deployment, model), openUntil.get(deployment.name()),
            openUntil.get(key(deployment.name(), model))}) {
            if (end != null && end.isAfter(at)) {
                at = end;
            }
        }
        return at;
    }

    private Instant coolingEnd(Deployment deployment, String model) {
        String key = key(deployment.name(), model);
        Instant end = coolingUntil.get(key);
        if (end != null && !end.isAfter(clock.instant())) {
            coolingUntil.remove(key, end);
            return null;
        }
        return end;
    }

    /** The cool-down a 429 asking for {@code retryAfterMillis} (0: said nothing) starts. */
    long cooldownMillis(long retryAfterMillis) {
        return Math.min(maxCooldownMillis, retryAfterMillis > 0 ? retryAfterMillis : defaultCooldownMillis);
    }

    public CircuitBreakerRegistry registry() {
        return registry;
    }

    /**
     * Permission for one attempt at a deployment; the attempt settles it exactly once by what
     * happened. In panic mode no breaker permission was taken: a success closes the breakers (the
     * deployment works again), a failure changes nothing (they are open already).
     */
    public final class Permit {
        private final Deployment deployment;
        private final String model;
        private final CircuitBreaker connection;
        private final CircuitBreaker http;
        private final boolean panic;

        Permit(Deployment deployment, String model, CircuitBreaker connection, CircuitBreaker http, boolean panic) {
            this.deployment = deployment;
            this.model = model;
            this.connection = connection;
            this.http = http;
            this.panic = panic;
        }

        public boolean panic() {
            return panic;
        }

        /** An answer that says the deployment works (2xx, 4xx other than 429, an upgrade). */
        public void succeeded(long nanos) {
            if (panic) {
                close(connection);
                close(http);
                return;
            }
            connection.onSuccess(nanos, TimeUnit.NANOSECONDS);
            http.onSuccess(nanos, TimeUnit.NANOSECONDS);
        }

        /** A 5xx answer: the deployment and model are unhealthy; the connection is fine. */
        public void httpFailed(long nanos, int status) {
            if (panic) {
                close(connection);
                record(http, nanos, status);
                return;
            }
            connection.onSuccess(nanos, TimeUnit.NANOSECONDS);
            http.onError(nanos, TimeUnit.NANOSECONDS, new IllegalStateException("HTTP " + status));
        }

        /** No answer: connect error, reset, timeout before the head. Counts for every model of the deployment. */
        public void connectionFailed(long nanos, Throwable cause) {
            if (panic) {
                record(connection, nanos, 0);
                return;
            }
            connection.onError(nanos, TimeUnit.NANOSECONDS, cause);
            http.releasePermission();
        }

        /** A 429: no health verdict; the deployment cools down for the model. */
        public void rateLimited(long nanos, long retryAfterMillis) {
            coolingUntil.put(key(deployment.name(), model),
                    clock.instant().plusMillis(cooldownMillis(retryAfterMillis)));
            if (panic) {
                close(connection);
                return;
            }
            connection.onSuccess(nanos, TimeUnit.NANOSECONDS);
            http.releasePermission();
        }

        /** The attempt was abandoned (the client left): says nothing about the upstream. */
        public void released() {
            if (!panic) {
                connection.releasePermission();
                http.releasePermission();
            }
        }

        private void close(CircuitBreaker cb) {
            if (cb.getState() == CircuitBreaker.State.OPEN || cb.getState() == CircuitBreaker.State.HALF_OPEN) {
                cb.transitionToClosedState();
            }
        }

        private void record(CircuitBreaker cb, long nanos, int status) {
            if (cb.getState() == CircuitBreaker.State.CLOSED) {
                cb.onError(nanos, TimeUnit.NANOSECONDS, new IllegalStateException("HTTP " + status));
            }
        }
    }
}
