package org.camelopenaiproxy.relay;

import java.util.function.Consumer;
import java.util.function.LongSupplier;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import org.camelopenaiproxy.errors.ProxyException;

/**
 * The idle and total time limits of an answer being relayed, on one Vert.x timer per answer: it
 * wakes at the nearer deadline, re-arms while chunks keep coming, and resets the upstream request
 * when a limit passes (the relay then ends the stream with an error event or closes the
 * connection). Vert.x's own request idle timeout is not used past the response head: it is not
 * cancelled when the answer ends and would keep every finished exchange reachable for the whole
 * idle period.
 */
final class Watchdog implements Handler<Long> {

    private static final ProxyException IDLE = ProxyException.upstreamTimeout(
            "The upstream API stopped sending data (idle timeout).");
    private static final ProxyException TOTAL = ProxyException.upstreamTimeout(
            "The upstream API did not complete the answer in time.");

    private final Vertx vertx;
    private final Consumer<ProxyException> expire;
    private final LongSupplier clock;
    private final long idleNanos;
    private final long totalDeadline;
    private long lastActivity;
    private long timerId = -1;

    /**
     * @param expire what ends the answer when a limit passes (the relay resets the upstream request)
     * @param totalDeadline a {@code clock} instant, or {@link Long#MAX_VALUE} for none
     * @param clock nanoseconds, {@link System#nanoTime()} outside tests
     */
    Watchdog(Vertx vertx, Consumer<ProxyException> expire, long idleMillis, long totalDeadline, LongSupplier clock) {
        this.vertx = vertx;
        this.expire = expire;
        this.clock = clock;
        this.idleNanos = idleMillis * 1_000_000L;
        this.totalDeadline = totalDeadline;
    }

    void start() {
        lastActivity = clock.getAsLong();
        arm(lastActivity);
    }

    /** A chunk arrived (or the client drained): the idle clock starts again. */
    void activity() {
        lastActivity = clock.getAsLong();
    }

    void stop() {
        if (timerId >= 0) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
    }

    @Override
    public void handle(Long id) {
        timerId = -1;
        long now = clock.getAsLong();
        if (now - totalDeadline >= 0) {
            expire.accept(TOTAL);
        } else if (now - lastActivity >= idleNanos) {
            expire.accept(IDLE);
        } else {
            arm(now);
        }
    }

    private void arm(long now) {
        long next = Math.min(lastActivity + idleNanos - now, totalDeadline - now);
        timerId = vertx.setTimer(Math.max(1, next / 1_000_000L), this);
    }
}
