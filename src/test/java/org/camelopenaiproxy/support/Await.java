package org.camelopenaiproxy.support;

import java.util.concurrent.Callable;
import java.util.function.Supplier;

/** Waits for a condition the proxy reaches asynchronously (a log line written, a gauge back to 0). */
public final class Await {

    private Await() {
    }

    /** Polls every 20 ms until {@code check} is true, or fails after {@code seconds}. */
    public static void that(int seconds, String what, Callable<Boolean> check) throws Exception {
        until(seconds, what, () -> check.call() ? Boolean.TRUE : null);
    }

    /** Polls every 20 ms until {@code probe} returns non-null, or fails after {@code seconds}. */
    public static <T> T until(int seconds, String what, Callable<T> probe) throws Exception {
        return until(seconds, () -> what, probe);
    }

    /** As {@link #until(int, String, Callable)}, describing what was awaited (with its state) only on failure. */
    public static <T> T until(int seconds, Supplier<String> what, Callable<T> probe) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            T value = probe.call();
            if (value != null) {
                return value;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what.get());
            }
            Thread.sleep(20);
        }
    }
}
