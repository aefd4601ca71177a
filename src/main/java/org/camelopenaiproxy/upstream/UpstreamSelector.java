package org.camelopenaiproxy.upstream;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;

/**
 * Picks the deployment for one attempt: among the deployments that serve the model and whose
 * circuit breaker lets a call through, those of the best (lowest) priority that has one not yet
 * tried in this request; within them, at random by weight. Lower priorities are reached only when
 * every deployment before them failed or is open.
 */
public class UpstreamSelector {

    /** A deployment and the breaker permission taken for it (to be settled by the call). */
    public record Choice(Deployment deployment, CircuitBreaker breaker) {
    }

    private final Supplier<List<Deployment>> pool;
    private final CircuitBreakers breakers;

    public UpstreamSelector(Supplier<List<Deployment>> pool, CircuitBreakers breakers) {
        this.pool = pool;
        this.breakers = breakers;
    }

    /** The next deployment to try, or {@code null} when none can take the request now. */
    public Choice select(String model, Set<String> tried) {
        List<Deployment> serving = new ArrayList<>();
        for (Deployment d : pool.get()) {
            if (d.serves(model)) {
                serving.add(d);
            }
        }
        if (serving.isEmpty()) {
            return null;
        }
        serving.sort((a, b) -> Integer.compare(a.priority(), b.priority()));
        // first pass: untried deployments, best priority first; second pass: any (retrying one already tried)
        for (boolean untriedOnly : new boolean[] {true, false}) {
            int i = 0;
            while (i < serving.size()) {
                int priority = serving.get(i).priority();
                List<Deployment> tier = new ArrayList<>();
                for (; i < serving.size() && serving.get(i).priority() == priority; i++) {
                    Deployment d = serving.get(i);
                    if (!untriedOnly || !tried.contains(d.name())) {
                        tier.add(d);
                    }
                }
                Choice choice = pickByWeight(tier);
                if (choice != null) {
                    return choice;
                }
            }
        }
        return null;
    }

    /** Why {@link #select} found nothing: 503 when deployments serve the model but none can take it now, else 404. */
    public RuntimeException unavailable(String model) {
        return anyServes(model)
                ? new UpstreamFailure(503, "upstream_unavailable",
                        "No upstream deployment can take the request now (all failing or circuit open).", false, 0, null)
                : new org.camelopenaiproxy.errors.ProxyException(404, "invalid_request_error", "model_not_found", "model",
                        "No upstream deployment serves model '" + model + "'.");
    }

    /** True when some deployment serves the model at all (else the answer is 404, not 503). */
    public boolean anyServes(String model) {
        for (Deployment d : pool.get()) {
            if (d.serves(model)) {
                return true;
            }
        }
        return false;
    }

    private Choice pickByWeight(List<Deployment> tier) {
        List<Deployment> left = new ArrayList<>(tier);
        while (!left.isEmpty()) {
            int total = 0;
            for (Deployment d : left) {
                total += d.weight();
            }
            int r = ThreadLocalRandom.current().nextInt(total);
            Deployment pick = left.get(left.size() - 1);
            for (Deployment d : left) {
                r -= d.weight();
                if (r < 0) {
                    pick = d;
                    break;
                }
            }
            CircuitBreaker breaker = breakers.forDeployment(pick.name());
            if (breaker.tryAcquirePermission()) {
                return new Choice(pick, breaker);
            }
            left.remove(pick);
        }
        return null;
    }
}
