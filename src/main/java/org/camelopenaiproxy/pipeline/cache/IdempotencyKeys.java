package org.camelopenaiproxy.pipeline.cache;

import java.util.concurrent.CompletionStage;

/**
 * Which Idempotency-Keys are taken: the atomic "am I the first?" of step {@code idempotencyGuard}.
 * Asynchronous, so that a shared store (Redis {@code SET NX}) never blocks an event loop; the
 * embedded one is {@link CaffeineIdempotentRepository}.
 */
public interface IdempotencyKeys {

    /** Takes {@code key}: true when nobody had it (this request is the first), false for a repeat. */
    CompletionStage<Boolean> claim(String key);

    /** Frees {@code key} (its first request's answer was not kept), so that a retry can go through. */
    CompletionStage<Void> forget(String key);
}
