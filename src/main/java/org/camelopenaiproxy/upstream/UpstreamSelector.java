package org.camelopenaiproxy.upstream;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import java.time.Instant;

/**
 * Picks the deployment for one attempt: among the deployments that serve the model and whose
 * circuit breakers let a call through (and that are not cooling down after a 429), those of the
 * best (lowest) priority that has one not yet tried in this request; within them, at random by
 * weight. Lower priorities are reached only when every deployment before them failed or is open.
 * When none is left, panic mode (Envoy's panic threshold, nginx trying marked-down servers anyway):
 * the request still goes to the deployment expected back first (untried ones before tried, then
 * priority), because refusing it could only be worse than trying.
 */
public class UpstreamSelector {

    /** A deployment and the permit taken for it (to be settled by the call). */
    public record Choice(Deployment deployment, CircuitBreakers.Permit permit) {
    }

    private final Supplier<List<Deployment>> pool;
    private final CircuitBreakers breakers;

    public UpstreamSelector(Supplier<List<Deployment>> pool, CircuitBreakers breakers) {
        this.pool = pool;
        this.breakers = breakers;
    }

    /** The next deployment to try, or {@code null} only when no deployment serves the model. */
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
                Choice choice = pickByWeight(tier, model);
                if (choice != null) {
                    return choice;
                }
            }
        }
        return panic(serving, model, tried);
    }

    private Choice panic(List<Deployment> serving, String model, Set<String> tried) {
        Deployment best = null;
        Instant bestAt = null;
        for (Deployment d : serving) { // sorted by priority: the first of equals wins
            Instant at = breakers.availableAt(d, model);
            if (best == null || before(d, at, best, bestAt, tried)) {
                best = d;
                bestAt = at;
            }
        }
        return new Choice(best, breakers.panic(best, model));
    }

    private static boolean before(Deployment d, Instant at, Deployment best, Instant bestAt, Set<String> tried) {
        boolean untried = !tried.contains(d.name());
        boolean bestUntried = !tried.contains(best.name());
        if (untried != bestUntried) {
            return untried;
        }
        return at.isBefore(bestAt);
    }

    /** Why {@link #select} found nothing: no deployment serves the model (404). */
    public RuntimeException unavailable(String model) {
        return new org.camelopenaiproxy.errors.ProxyException(404, "invalid_request_error", "model_not_found", "model",
                "No upstream deployment serves model '" + model + "'.");
    }

    /**
     * True when a deployment not tried yet in this request serves the model and looks healthy: a
     * retry there is a failover, which adds no load to the deployment that failed.
     */
    public boolean canFailOver(String model, Set<String> tried) {
        for (Deployment d : pool.get()) {
            if (d.serves(model) && !tried.contains(d.name()) && breakers.healthy(d, model)) {
                return true;
            }
        }
        return false;
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

    private Choice pickByWeight(List<Deployment> tier, String model) {
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
            CircuitBreakers.Permit permit = breakers.acquire(pick, model);
            if (permit != null) {
                return new Choice(pick, permit);
            }
            left.remove(pick);
        }
        return null;
    }
}
