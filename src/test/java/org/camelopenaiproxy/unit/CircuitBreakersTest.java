package org.camelopenaiproxy.unit;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.upstream.CircuitBreakers;
import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.UpstreamTarget;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What counts against a deployment's health, at which granularity, and how fast it is trusted again. */
class CircuitBreakersTest {

    static final long MS = 1_000_000L;

    final TestClock clock = new TestClock();
    // 50 % of a window of 4 (at least 4 calls), open 1 s, 5 probes when half open, 429 cool-down 1 s default, 60 s cap
    final CircuitBreakers breakers = new CircuitBreakers(50, 4, 4, Duration.ofSeconds(1), 5, 1000, 60_000, clock);
    final Deployment a = deployment("a");

    static Deployment deployment(String name) {
        return new Deployment(name, Deployment.Type.OPENAI, UpstreamTarget.fromBaseUrl(name, "http://127.0.0.1:9/v1", "k"),
                1, 0, List.of(Glob.of("*")), null, Map.of());
    }

    private void fail5xx(String model, int times) {
        for (int i = 0; i < times; i++) {
            breakers.acquire(a, model).httpFailed(MS, 500);
        }
    }

    @Test
    void many_429s_never_open_a_breaker_they_cool_the_deployment_down_for_the_retry_after() {
        for (int i = 0; i < 20; i++) {
            CircuitBreakers.Permit p = breakers.acquire(a, "m");
            if (p == null) { // cooling down: the selector would try another deployment; time passes
                clock.advance(Duration.ofMillis(700));
                p = breakers.acquire(a, "m");
            }
            p.rateLimited(MS, 700);
        }
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forModel("a", "m").getState());
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forDeployment("a").getState());
        assertNull(breakers.acquire(a, "m"), "cooling down for 700 ms after the last 429");
        assertNotNull(breakers.acquire(a, "other"), "the cool-down is the rate-limited model's only");
        clock.advance(Duration.ofMillis(699));
        assertNull(breakers.acquire(a, "m"));
        clock.advance(Duration.ofMillis(1));
        assertNotNull(breakers.acquire(a, "m"), "usable the moment the upstream's Retry-After ends");
    }

    @Test
    void a_cool_down_is_capped_and_defaults_when_the_upstream_said_nothing() {
        breakers.acquire(a, "m").rateLimited(MS, 3_600_000);
        clock.advance(Duration.ofSeconds(60));
        assertNotNull(breakers.acquire(a, "m"), "an hour's Retry-After is capped at 60 s");

        breakers.acquire(a, "m").rateLimited(MS, 0);
        assertNull(breakers.acquire(a, "m"));
        clock.advance(Duration.ofMillis(1000));
        assertNotNull(breakers.acquire(a, "m"), "no Retry-After: the default 1 s");
    }

    @Test
    void one_models_5xx_open_its_own_breaker_and_leave_the_other_models_alone() {
        fail5xx("sick", 4);
        assertEquals(CircuitBreaker.State.OPEN, breakers.forModel("a", "sick").getState());
        assertNull(breakers.acquire(a, "sick"));
        assertNotNull(breakers.acquire(a, "fine"), "the deployment still serves other models");
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forDeployment("a").getState(), "its connections work");
    }

    @Test
    void connection_failures_open_the_deployment_for_every_model() {
        for (int i = 0; i < 4; i++) {
            breakers.acquire(a, i % 2 == 0 ? "x" : "y").connectionFailed(MS, new java.net.ConnectException());
        }
        assertEquals(CircuitBreaker.State.OPEN, breakers.forDeployment("a").getState());
        assertNull(breakers.acquire(a, "x"));
        assertNull(breakers.acquire(a, "z"), "a host that cannot be reached cannot serve any model");
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forModel("a", "x").getState(),
                "connection failures are not held against the model's answers");
    }

    @Test
    void half_open_lets_several_requests_through_and_closes_after_they_succeed() {
        fail5xx("m", 4);
        assertNull(breakers.acquire(a, "m"));
        clock.advance(Duration.ofMillis(999));
        assertNull(breakers.acquire(a, "m"), "still open");
        clock.advance(Duration.ofMillis(2)); // Resilience4j: half open once the wait is strictly over
        CircuitBreakers.Permit[] probes = new CircuitBreakers.Permit[5];
        for (int i = 0; i < 5; i++) {
            probes[i] = breakers.acquire(a, "m");
            assertNotNull(probes[i], "probe " + i + " of 5 in flight at once");
        }
        assertNull(breakers.acquire(a, "m"), "a sixth waits for the probes' verdict");
        for (CircuitBreakers.Permit p : probes) {
            p.succeeded(MS);
        }
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forModel("a", "m").getState());
        for (int i = 0; i < 50; i++) {
            assertNotNull(breakers.acquire(a, "m"), "full traffic again");
        }
    }

    @Test
    void a_panic_request_that_succeeds_closes_the_breakers_and_one_that_fails_changes_nothing() {
        fail5xx("m", 4);
        breakers.panic(a, "m").httpFailed(MS, 500);
        assertEquals(CircuitBreaker.State.OPEN, breakers.forModel("a", "m").getState());
        breakers.panic(a, "m").succeeded(MS);
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forModel("a", "m").getState());
        assertNotNull(breakers.acquire(a, "m"), "the deployment works: normal traffic at once");
    }

    @Test
    void available_at_is_when_the_later_of_open_state_and_cool_down_ends() {
        fail5xx("m", 4);
        assertEquals(clock.instant().plusSeconds(1), breakers.availableAt(a, "m"));
        breakers.panic(a, "m").rateLimited(MS, 5000);
        assertTrue(breakers.availableAt(a, "m").equals(clock.instant().plusSeconds(5)));
    }
}
