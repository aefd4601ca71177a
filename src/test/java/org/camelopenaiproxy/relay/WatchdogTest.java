package org.camelopenaiproxy.relay;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import org.camelopenaiproxy.errors.ProxyException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The idle and total limits of a relayed answer, on a clock the test moves: the watchdog's timer
 * is armed for minutes, and each test wakes it by hand at the instant it wants to check.
 */
class WatchdogTest {

    static final Vertx VERTX = Vertx.vertx();
    static final long IDLE_MS = 60_000;

    long now = 1_000_000_000L;
    final List<ProxyException> expired = new ArrayList<>();

    @AfterAll
    static void close() throws Exception {
        VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    Watchdog watchdog(Duration total) {
        long deadline = total == null ? Long.MAX_VALUE : now + total.toNanos();
        Watchdog w = new Watchdog(VERTX, expired::add, IDLE_MS, deadline, () -> now);
        w.start();
        return w;
    }

    void advance(Duration by) {
        now += by.toNanos();
    }

    @Test
    void an_answer_that_keeps_sending_is_never_cut_by_the_idle_limit() {
        Watchdog w = watchdog(null);
        for (int i = 0; i < 10; i++) {
            advance(Duration.ofMillis(IDLE_MS - 1));
            w.activity();
            w.handle(0L);
        }
        w.stop();
        assertTrue(expired.isEmpty(), "ten minutes of chunks less than a minute apart: " + expired);
    }

    @Test
    void a_silent_upstream_is_cut_once_the_idle_limit_passes_and_not_before() {
        Watchdog w = watchdog(null);
        advance(Duration.ofMillis(IDLE_MS - 1));
        w.handle(0L);
        assertTrue(expired.isEmpty(), "one millisecond before the idle limit");
        advance(Duration.ofMillis(1));
        w.handle(0L);
        assertEquals(1, expired.size());
        assertEquals(504, expired.get(0).status());
        assertTrue(expired.get(0).getMessage().contains("idle timeout"), expired.get(0).getMessage());
        w.stop();
    }

    @Test
    void the_total_limit_cuts_an_answer_even_while_it_keeps_sending() {
        Watchdog w = watchdog(Duration.ofSeconds(90));
        advance(Duration.ofSeconds(50));
        w.activity();
        w.handle(0L);
        assertTrue(expired.isEmpty());
        advance(Duration.ofSeconds(40));
        w.activity();
        w.handle(0L);
        assertEquals(1, expired.size());
        assertTrue(expired.get(0).getMessage().contains("did not complete the answer in time"),
                expired.get(0).getMessage());
        w.stop();
    }
}
