package org.camelopenaiproxy.unit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.camelopenaiproxy.pipeline.AsyncStep;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A store's answer is acted on on the request's Vert.x context, whichever thread gave it. */
class AsyncStepTest {

    static final Vertx VERTX = Vertx.vertx();

    @AfterAll
    static void close() throws Exception {
        VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void an_answer_from_another_thread_is_acted_on_on_the_request_context() throws Exception {
        Context context = VERTX.getOrCreateContext();
        CompletableFuture<String> store = new CompletableFuture<>();
        CompletableFuture<Context> actedOn = new CompletableFuture<>();
        context.runOnContext(v -> AsyncStep.onContext(context, store)
                .thenAccept(answer -> actedOn.complete(Vertx.currentContext())));
        Thread remote = new Thread(() -> store.complete("late"), "remote-store");
        remote.start();
        assertSame(context, actedOn.get(10, TimeUnit.SECONDS));
    }

    @Test
    void a_refusal_from_another_thread_keeps_its_own_exception() throws Exception {
        Context context = VERTX.getOrCreateContext();
        CompletableFuture<String> store = new CompletableFuture<>();
        CompletableFuture<Throwable> seen = new CompletableFuture<>();
        context.runOnContext(v -> AsyncStep.onContext(context, store)
                .whenComplete((answer, error) -> seen.complete(AsyncStep.cause(error))));
        IllegalStateException refusal = new IllegalStateException("refused");
        new Thread(() -> store.completeExceptionally(refusal)).start();
        assertSame(refusal, seen.get(10, TimeUnit.SECONDS));
    }

    @Test
    void an_answer_given_at_once_needs_no_hop() {
        CompletableFuture<String> now = CompletableFuture.completedFuture("now");
        assertSame(now, AsyncStep.onContext(VERTX.getOrCreateContext(), now));
        assertTrue(AsyncStep.onContext(null, now).toCompletableFuture().isDone());
        assertEquals("now", AsyncStep.onContext(null, now).toCompletableFuture().join());
    }
}
