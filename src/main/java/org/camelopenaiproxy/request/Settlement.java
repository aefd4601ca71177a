package org.camelopenaiproxy.request;

/**
 * What a request settles when it ends, in the order {@link RequestEnd} runs them: the order of the
 * constants is the order of the settlements. A step that takes something a request must give back
 * registers its settlement under one of these names ({@link ProxyRequest#atEnd}); a settlement that
 * fails is logged and the others still run.
 */
public enum Settlement {
    /** The request body's share of {@code proxy.max-buffered-bytes} goes back ({@code requestBodyReader}). */
    BODY_BUFFER,
    /** The key's {@code max_concurrent} slot and the proxy-wide in-flight count are released ({@code throttle}). */
    CONCURRENCY_SLOT,
    /** The key's token reservation is settled against the usage the upstream reported ({@code throttle}). */
    TOKENS,
    /** The request leaves the retry budget's count of requests ({@code upstream}). */
    RETRY_BUDGET,
    /**
     * An Idempotency-Key's answer is kept (completed, status below 500) or the key forgotten, and
     * repeats waiting for it are woken; a waiting repeat's timer is cancelled ({@code idempotencyGuard}).
     */
    IDEMPOTENT_ANSWER,
    /** A completed 2xx answer goes into the response cache ({@code responseCache}). */
    CACHE_ENTRY,
    /** A 5xx passed on, or a stream that broke after it began, goes to the dead letters (the relay). */
    DEAD_LETTER,
    /** Request metrics (duration, status, tokens) and the in-flight gauge ({@code RequestObserver}). */
    METRICS,
    /** The request's event (its JSON line) is queued for the access log and the audit ({@code RequestObserver}). */
    REQUEST_EVENT
}
