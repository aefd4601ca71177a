package org.camelopenaiproxy.upstream;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Check {@code upstreams} (part of {@code /observe/health} and {@code /observe/health/ready}): each
 * deployment's connection breaker state in the details, and how many are usable. It stays UP when
 * every circuit is open: the proxy still sends requests then (panic mode), so taking it out of a
 * load balancer would turn an upstream blip into an outage of the proxy's own, which no proxy at
 * all would not have. Readiness goes DOWN while the proxy drains ({@code draining} check).
 */
public class UpstreamsHealthCheck extends AbstractHealthCheck {

    private final Supplier<List<Deployment>> deployments;
    private final CircuitBreakers breakers;

    public UpstreamsHealthCheck(Supplier<List<Deployment>> deployments, CircuitBreakers breakers) {
        super("proxy", "upstreams");
        this.deployments = deployments;
        this.breakers = breakers;
    }

    @Override
    public boolean isLiveness() {
        return false; // a failing upstream is no reason to restart the proxy
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        int usable = 0;
        List<Deployment> all = deployments.get();
        for (Deployment d : all) {
            CircuitBreaker.State state = breakers.forDeployment(d.name()).getState();
            builder.detail("upstream." + d.name(), state.name());
            if (state != CircuitBreaker.State.OPEN && state != CircuitBreaker.State.FORCED_OPEN) {
                usable++;
            }
        }
        for (CircuitBreaker cb : breakers.modelBreakers()) { // deployment/model: the breakers of 5xx answers
            if (cb.getState() != CircuitBreaker.State.CLOSED) {
                builder.detail("upstream." + cb.getName(), cb.getState().name());
            }
        }
        builder.detail("usable", usable + "/" + all.size());
        if (usable == 0 && !all.isEmpty()) {
            builder.message("Every circuit breaker is open: requests are still tried (panic mode).");
            builder.detail("panic", "true");
        }
        builder.up();
    }
}
