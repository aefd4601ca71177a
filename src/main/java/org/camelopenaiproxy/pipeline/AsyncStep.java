package org.camelopenaiproxy.pipeline;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;
import org.camelopenaiproxy.request.ProxyRequest;

/**
 * A pipeline step that may wait for I/O (a store, a remote check) without holding the event loop.
 * {@link #run} starts the step and returns a stage that completes when it is done (exceptionally
 * to refuse the request). Whatever the step does with a store's answer runs after
 * {@link #onContext}, on the request's Vert.x context, because that is where the request's state
 * lives; the route then goes on from there. A stage that is already complete (the in-memory
 * stores) ends the step synchronously, with no hop at all.
 */
public abstract class AsyncStep extends AsyncProcessorSupport {

    /** Starts the step for {@code exchange}; runs on the request's context. */
    protected abstract CompletionStage<?> run(Exchange exchange) throws Exception;

    @Override
    public final boolean process(Exchange exchange, AsyncCallback callback) {
        CompletableFuture<?> done;
        try {
            done = run(exchange).toCompletableFuture();
        } catch (Exception e) {
            exchange.setException(e);
            callback.done(true);
            return true;
        }
        if (done.isDone()) {
            fail(exchange, done);
            callback.done(true);
            return true;
        }
        onContext(context(exchange), done).whenComplete((v, e) -> {
            if (e != null) {
                exchange.setException(cause(e));
            }
            callback.done(false);
        });
        return false;
    }

    /** The Vert.x context the request arrived on, or {@code null} outside Vert.x (unit tests). */
    protected static Context context(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        return request == null ? null : request.context();
    }

    /**
     * {@code stage}, completing on {@code context}: directly when it completes there (or has
     * completed already), else through {@link Context#runOnContext}. Stages chained on the result
     * run on the request's context.
     */
    public static <T> CompletionStage<T> onContext(Context context, CompletionStage<T> stage) {
        CompletableFuture<T> future = stage.toCompletableFuture();
        if (context == null || future.isDone()) {
            return future;
        }
        CompletableFuture<T> hopped = new CompletableFuture<>();
        future.whenComplete((value, error) -> {
            if (Vertx.currentContext() == context) {
                settle(hopped, value, error);
            } else {
                context.runOnContext(v -> settle(hopped, value, error));
            }
        });
        return hopped;
    }

    private static <T> void settle(CompletableFuture<T> future, T value, Throwable error) {
        if (error != null) {
            future.completeExceptionally(cause(error));
        } else {
            future.complete(value);
        }
    }

    private static void fail(Exchange exchange, CompletableFuture<?> done) {
        if (done.isCompletedExceptionally()) {
            try {
                done.join();
            } catch (CompletionException | java.util.concurrent.CancellationException e) {
                exchange.setException(cause(e));
            }
        }
    }

    /** The step's own exception, without the {@link CompletionException} a stage wraps it in. */
    public static Throwable cause(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }
}
