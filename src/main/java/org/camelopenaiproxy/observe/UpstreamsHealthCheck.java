package org.camelopenaiproxy.observe;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.camelopenaiproxy.upstream.CircuitBreakers;
import org.camelopenaiproxy.upstream.Deployment;

/**
 * Readiness check {@code upstreams} (part of {@code /observe/health} and {@code /observe/health/ready}):
 * UP while at least one upstream deployment can take requests, i.e. its circuit breaker is not
 * open; DOWN (HTTP 503) when every deployment's circuit is open, so a load balancer stops sending
 * traffic that could only fail. Each deployment's breaker state is in the details.
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
        builder.detail("usable", usable + "/" + all.size());
        if (usable > 0) {
            builder.up();
        } else {
            builder.message("No upstream deployment can take requests: every circuit breaker is open.");
            builder.down();
        }
    }
}
