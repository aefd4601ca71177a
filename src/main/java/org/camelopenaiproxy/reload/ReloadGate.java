package org.camelopenaiproxy.reload;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * Lets the pipeline routes be replaced while traffic flows. Requests enter through {@link #admit};
 * while the gate is closed they are held and replayed on their own Vert.x context when it opens.
 * {@link #awaitQuiet} waits until no exchange is running pipeline steps. An exchange that is only
 * waiting for the upstream's response head ({@link #park}) does not count: it runs no step of the
 * routes being replaced, only its own completion.
 */
public final class ReloadGate {

    private final AtomicInteger active = new AtomicInteger();
    private final Queue<Runnable> held = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    /** Runs {@code work} now, or holds it until the gate opens. Call on the request's event loop. */
    public void admit(Runnable work) {
        if (!closed) {
            active.incrementAndGet();
            if (!closed) {
                work.run();
                return;
            }
            active.decrementAndGet();
        }
        Context context = Vertx.currentContext();
        held.add(context == null ? () -> admit(work) : () -> context.runOnContext(v -> admit(work)));
        if (!closed) {
            replayHeld();
        }
    }

    /** The exchange finished (its response was handed to the writer). */
    public void leave() {
        active.decrementAndGet();
    }

    /** The exchange now only waits for the upstream; see the class comment. */
    public void park() {
        active.decrementAndGet();
    }

    /** The upstream answered; the exchange completes through the pipeline's remaining callbacks. */
    public void unpark() {
        active.incrementAndGet();
    }

    public void close() {
        closed = true;
    }

    public void open() {
        closed = false;
        replayHeld();
    }

    public boolean isClosed() {
        return closed;
    }

    /** Blocks the calling (non event loop) thread until no exchange is active, or the timeout passes. */
    public boolean awaitQuiet(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (active.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }

    public int active() {
        return active.get();
    }

    private void replayHeld() {
        Runnable r;
        while ((r = held.poll()) != null) {
            r.run();
        }
    }
}
