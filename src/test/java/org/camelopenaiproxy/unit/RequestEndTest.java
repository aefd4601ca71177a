package org.camelopenaiproxy.unit;

import java.util.ArrayList;
import java.util.List;

import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.Settlement;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A request ends once, from one place, and settles in the order {@link Settlement} lists, whatever fails. */
class RequestEndTest {

    private final ProxyRequest request = new ProxyRequest(null, "/v1/chat/completions", System.nanoTime());
    private final List<String> ran = new ArrayList<>();

    @Test
    void settlements_run_in_the_documented_order_not_in_the_order_the_steps_registered_them() {
        List<Settlement> reversed = new ArrayList<>(List.of(Settlement.values()));
        java.util.Collections.reverse(reversed);
        for (Settlement s : reversed) { // the last steps of the pipeline register first here
            request.atEnd(s, outcome -> ran.add(s.name()));
        }

        request.end(Outcome.completed(200));

        assertEquals(List.of("BODY_BUFFER", "CONCURRENCY_SLOT", "TOKENS", "RETRY_BUDGET", "IDEMPOTENT_ANSWER",
                "CACHE_ENTRY", "DEAD_LETTER", "METRICS", "REQUEST_EVENT"), ran,
                "the order the README's 'Follow a request' documents");
    }

    @Test
    void the_end_runs_once_whoever_ends_the_request_again() {
        request.atEnd(Settlement.CONCURRENCY_SLOT, outcome -> ran.add("slot " + outcome.ending()));
        request.atEnd(Settlement.REQUEST_EVENT, outcome -> ran.add("event " + outcome.status()));
        assertNull(request.outcome(), "a running request has no outcome");

        assertTrue(request.end(Outcome.clientLeft()), "the first end ends the request");
        // the writer, the relay and the drain may all see the end of the same request
        assertFalse(request.end(Outcome.completed(200)));
        assertFalse(request.end(new Outcome(Outcome.Ending.TIMED_OUT, 200, null, 3)));

        assertEquals(List.of("slot CLIENT_LEFT", "event 499"), ran, "each settlement exactly once, with the first outcome");
        assertSame(Outcome.Ending.CLIENT_LEFT, request.outcome().ending());
    }

    @Test
    void a_settlement_that_throws_does_not_skip_the_others() {
        request.atEnd(Settlement.TOKENS, outcome -> {
            throw new IllegalStateException("bucket store down");
        });
        request.atEnd(Settlement.CONCURRENCY_SLOT, outcome -> ran.add("slot"));
        request.atEnd(Settlement.IDEMPOTENT_ANSWER, outcome -> {
            throw new IllegalStateException("idempotency store down");
        });
        request.atEnd(Settlement.IDEMPOTENT_ANSWER, outcome -> ran.add("waiting repeat's timer"));
        request.atEnd(Settlement.METRICS, outcome -> ran.add("metrics"));
        request.atEnd(Settlement.REQUEST_EVENT, outcome -> ran.add("event"));

        request.end(Outcome.completed(200));

        assertEquals(List.of("slot", "waiting repeat's timer", "metrics", "event"), ran);
    }

    @Test
    void a_step_that_registers_after_the_end_settles_at_once_with_the_outcome() {
        // e.g. the throttle's store answered after the client had left and the request had ended
        request.end(Outcome.clientLeft());

        request.atEnd(Settlement.CONCURRENCY_SLOT, outcome -> ran.add("slot " + outcome.status()));

        assertEquals(List.of("slot 499"), ran, "a slot taken after the end is still released, once");
    }
}
