package org.camelopenaiproxy.pipeline.cache;

import java.util.concurrent.CompletionStage;

/**
 * Where stored answers live (the response cache, and the answers of Idempotency-Key requests).
 * Every call answers with a {@link CompletionStage}, so that a shared store (Redis) can replace
 * the embedded {@link CaffeineResponseStore} for several proxy instances without blocking an event
 * loop and without touching the routes; the steps wait for it on the request's context.
 */
public interface ResponseStore<V> {

    /** The value kept for {@code key}, or {@code null}. */
    CompletionStage<V> get(String key);

    CompletionStage<Void> put(String key, V value);

    CompletionStage<Void> remove(String key);
}
