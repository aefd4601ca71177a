package org.camelopenaiproxy.unit;

import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.upstream.RetryBudget;
import org.camelopenaiproxy.upstream.RetryPolicy;
import org.camelopenaiproxy.upstream.UpstreamAnswer;
import org.camelopenaiproxy.upstream.UpstreamFailure;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When another attempt is made: retryable failure, attempts and time left, and room in the retry budget. */
class RetryPolicyTest {

    final DefaultCamelContext camel = new DefaultCamelContext();

    private Exchange failedWith(UpstreamFailure failure) {
        Exchange exchange = new DefaultExchange(camel);
        ProxyRequest request = new ProxyRequest(null, "/v1/chat/completions", System.nanoTime());
        request.markFirstAttempt();
        exchange.setProperty(ProxyRequest.PROPERTY, request);
        exchange.setException(failure);
        return exchange;
    }

    final org.camelopenaiproxy.upstream.CircuitBreakers breakers = new org.camelopenaiproxy.upstream.CircuitBreakers(
            50, 4, 4, java.time.Duration.ofSeconds(1), 5, 1000, 60_000, new TestClock());
    final org.camelopenaiproxy.upstream.Deployment a = CircuitBreakersTest.deployment("a");
    final org.camelopenaiproxy.upstream.Deployment b = CircuitBreakersTest.deployment("b");

    /** Deployments a and b serving every model, behind {@link #breakers}. */
    private org.camelopenaiproxy.upstream.UpstreamSelector selectorOverAandB() {
        return new org.camelopenaiproxy.upstream.UpstreamSelector(() -> java.util.List.of(a, b), breakers);
    }

    private static UpstreamFailure answered(int status, long retryAfterMs) {
        return new UpstreamFailure(new UpstreamAnswer(status, io.vertx.core.MultiMap.caseInsensitiveMultiMap(),
                io.vertx.core.buffer.Buffer.buffer("{}")), "upstream_error", "HTTP " + status, retryAfterMs);
    }

    @Test
    void the_budget_is_20_percent_of_requests_in_flight_with_a_floor_of_3() {
        RetryBudget budget = new RetryBudget(20, 3);
        assertEquals(3, budget.allowed(), "a quiet proxy may still retry");
        for (int i = 0; i < 100; i++) {
            budget.requestStarted();
        }
        assertEquals(20, budget.allowed());
        for (int i = 0; i < 20; i++) {
            assertTrue(budget.tryAcquireRetry());
        }
        assertFalse(budget.tryAcquireRetry(), "the 21st concurrent retry of 100 requests is refused");
        budget.retryEnded();
        assertTrue(budget.tryAcquireRetry(), "a finished retry frees its place");
    }

    @Test
    void when_the_budget_is_spent_the_failure_is_final_and_the_client_gets_the_upstreams_answer() {
        RetryBudget budget = new RetryBudget(20, 1);
        RetryPolicy policy = new RetryPolicy(3, 10_000, 30_000, Set.of(500), budget, null);
        Exchange first = failedWith(answered(500, 0));
        Exchange second = failedWith(answered(500, 0));

        assertTrue(policy.shouldRetry(first));
        assertTrue(policy.shouldRetry(first), "asked twice about one failure: still one token");
        assertEquals(1, budget.retriesInFlight());
        assertFalse(policy.shouldRetry(second), "budget spent: no other attempt");
        assertEquals(1, budget.retriesInFlight());
    }

    @Test
    void a_retry_after_beyond_the_cap_is_not_waited_for() {
        RetryPolicy policy = new RetryPolicy(3, 2_000, 30_000, Set.of(429), new RetryBudget(20, 3), null);
        assertFalse(policy.shouldRetry(failedWith(answered(429, 20_000))), "the client gets the 429 and its Retry-After");
        Exchange shortWait = failedWith(answered(429, 500));
        assertTrue(policy.shouldRetry(shortWait));
        assertEquals(500L, shortWait.getMessage().getHeader(Exchange.REDELIVERY_DELAY));
    }

    @Test
    void a_failover_to_a_healthy_deployment_not_tried_yet_needs_no_budget() {
        RetryBudget spent = new RetryBudget(0, 0);
        RetryPolicy policy = new RetryPolicy(3, 10_000, 30_000, Set.of(500), spent, selectorOverAandB());
        Exchange failedOnA = failedWith(answered(500, 0));
        ProxyRequest request = ProxyRequest.of(failedOnA);
        request.facts(new org.camelopenaiproxy.request.RequestFacts("m", "m", null, false, false, 0, false));
        request.addAttempt(new org.camelopenaiproxy.request.Attempt("a", 500, null, 1_000_000));

        assertTrue(policy.shouldRetry(failedOnA), "b is healthy and untried: failing over adds nothing to a's load");
        assertEquals(0, spent.retriesInFlight());

        for (int i = 0; i < 4; i++) {
            breakers.acquire(b, "m").httpFailed(1_000_000, 500);
        }
        failedOnA.removeProperty(RetryBudget.TOKEN);
        assertFalse(policy.shouldRetry(failedOnA), "b is open too: a retry would be panic load, and the budget is spent");
    }

    @Test
    void a_429_with_another_healthy_deployment_fails_over_without_waiting_out_its_retry_after() {
        RetryPolicy policy = new RetryPolicy(3, 10_000, 30_000, Set.of(429), new RetryBudget(20, 3), selectorOverAandB());
        Exchange limitedOnA = failedWith(answered(429, 8_000));
        ProxyRequest request = ProxyRequest.of(limitedOnA);
        request.facts(new org.camelopenaiproxy.request.RequestFacts("m", "m", null, false, false, 0, false));
        request.addAttempt(new org.camelopenaiproxy.request.Attempt("a", 429, null, 1_000_000));

        assertTrue(policy.shouldRetry(limitedOnA));
        assertEquals(null, limitedOnA.getMessage().getHeader(Exchange.REDELIVERY_DELAY),
                "b can take it now: the usual backoff, not a's 8 s");

        request.addAttempt(new org.camelopenaiproxy.request.Attempt("b", 429, null, 1_000_000));
        Exchange limitedOnBoth = failedWith(answered(429, 8_000));
        ProxyRequest both = ProxyRequest.of(limitedOnBoth);
        both.facts(request.facts());
        both.addAttempt(new org.camelopenaiproxy.request.Attempt("a", 429, null, 1_000_000));
        both.addAttempt(new org.camelopenaiproxy.request.Attempt("b", 429, null, 1_000_000));
        assertTrue(policy.shouldRetry(limitedOnBoth));
        assertEquals(8_000L, limitedOnBoth.getMessage().getHeader(Exchange.REDELIVERY_DELAY),
                "every deployment asked for patience: its Retry-After is waited out");
    }
}
