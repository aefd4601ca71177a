package org.camelopenaiproxy.support;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.vertx.core.http.HttpConnection;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A client connection left silent from now on: the proxy must close it, and not before its read timeout. */
public final class SilentConnection {

    private SilentConnection() {
    }

    /** Waits (at most 10 s) for the proxy to close {@code connection}, and checks it was silent at least {@code minMillis} first. */
    public static void assertClosedAfterSilence(HttpConnection connection, long minMillis) throws Exception {
        long idleFrom = System.nanoTime();
        CompletableFuture<Long> closed = new CompletableFuture<>();
        connection.closeHandler(v -> closed.complete(System.nanoTime()));
        long silentMs = TimeUnit.NANOSECONDS.toMillis(closed.get(10, TimeUnit.SECONDS) - idleFrom);
        assertTrue(silentMs >= minMillis, "closed after " + silentMs + " ms of silence, before read-timeout-ms");
    }
}
