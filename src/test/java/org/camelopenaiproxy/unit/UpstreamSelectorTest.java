package org.camelopenaiproxy.unit;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.upstream.CircuitBreakers;
import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.UpstreamSelector;
import org.camelopenaiproxy.upstream.UpstreamTarget;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which deployment an attempt goes to, and that a request is never refused while some deployment serves its model. */
class UpstreamSelectorTest {

    static final long MS = 1_000_000L;

    final TestClock clock = new TestClock();
    final CircuitBreakers breakers = new CircuitBreakers(50, 4, 4, Duration.ofSeconds(1), 5, 1000, 60_000, clock);

    static Deployment deployment(String name, int priority, String model) {
        return new Deployment(name, Deployment.Type.OPENAI, UpstreamTarget.fromBaseUrl(name, "http://127.0.0.1:9/v1", "k"),
                1, priority, List.of(Glob.of(model)), null, Map.of());
    }

    private void open(Deployment d, String model) {
        for (int i = 0; i < 4; i++) {
            breakers.acquire(d, model).httpFailed(MS, 500);
        }
    }

    @Test
    void a_single_deployment_whose_breaker_is_open_still_gets_the_request() {
        Deployment only = deployment("only", 0, "*");
        UpstreamSelector selector = new UpstreamSelector(() -> List.of(only), breakers);
        open(only, "m");

        UpstreamSelector.Choice choice = selector.select("m", Set.of());

        assertNotNull(choice, "refusing would be worse than trying: no proxy at all would have tried");
        assertEquals("only", choice.deployment().name());
        assertTrue(choice.permit().panic());
    }

    @Test
    void when_all_are_open_or_cooling_the_one_back_first_gets_it() {
        Deployment a = deployment("a", 0, "*");
        Deployment b = deployment("b", 0, "*");
        UpstreamSelector selector = new UpstreamSelector(() -> List.of(a, b), breakers);
        open(a, "m"); // back in 1 s
        breakers.acquire(b, "m").rateLimited(MS, 300); // back in 300 ms

        for (int i = 0; i < 20; i++) {
            assertEquals("b", selector.select("m", Set.of()).deployment().name());
        }
        clock.advance(Duration.ofMillis(300));
        UpstreamSelector.Choice normal = selector.select("m", Set.of());
        assertEquals("b", normal.deployment().name());
        assertFalse(normal.permit().panic(), "b's cool-down is over: a normal attempt");
    }

    @Test
    void in_panic_an_untried_deployment_comes_before_a_retry_of_the_same() {
        Deployment a = deployment("a", 0, "*");
        Deployment b = deployment("b", 0, "*");
        UpstreamSelector selector = new UpstreamSelector(() -> List.of(a, b), breakers);
        open(a, "m");
        open(b, "m");
        clock.advance(Duration.ofMillis(500));
        open(b, "x"); // unrelated model: b's "m" breaker opened earlier, so it is back first... unless tried
        Set<String> tried = new HashSet<>(Set.of("a"));
        assertEquals("b", selector.select("m", tried).deployment().name());
        tried = new HashSet<>(Set.of("b"));
        assertEquals("a", selector.select("m", tried).deployment().name());
    }

    @Test
    void a_healthy_deployment_takes_every_request_while_another_is_open() {
        Deployment sick = deployment("sick", 0, "*");
        Deployment well = deployment("well", 0, "*");
        UpstreamSelector selector = new UpstreamSelector(() -> List.of(sick, well), breakers);
        open(sick, "m");
        for (int i = 0; i < 50; i++) {
            UpstreamSelector.Choice c = selector.select("m", Set.of());
            assertEquals("well", c.deployment().name());
            assertFalse(c.permit().panic());
            c.permit().succeeded(MS);
        }
        assertEquals("sick", selector.select("other-model", Set.of("well")).deployment().name(),
                "sick's breaker for model m does not keep it from other models");
    }

    @Test
    void a_lower_priority_is_used_before_panic() {
        Deployment primary = deployment("primary", 0, "*");
        Deployment backup = deployment("backup", 1, "*");
        UpstreamSelector selector = new UpstreamSelector(() -> List.of(primary, backup), breakers);
        open(primary, "m");
        UpstreamSelector.Choice c = selector.select("m", Set.of());
        assertEquals("backup", c.deployment().name());
        assertFalse(c.permit().panic());
    }

    @Test
    void nothing_only_when_no_deployment_serves_the_model() {
        UpstreamSelector selector = new UpstreamSelector(() -> List.of(deployment("a", 0, "gpt-*")), breakers);
        assertNull(selector.select("claude", Set.of()));
        assertEquals(404, ((org.camelopenaiproxy.errors.ProxyException) selector.unavailable("claude")).status());
    }
}
