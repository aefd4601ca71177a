package org.camelopenaiproxy.request;

import io.vertx.core.MultiMap;

/**
 * What an answer the proxy writes carries beyond the message: when the client should retry
 * ({@code Retry-After}, {@code retry-after-ms}; {@code null}: not said), the upstream's own headers
 * of an error passed on after the last attempt (already masked), and whether it replays a kept
 * Idempotency-Key answer ({@code Idempotent-Replayed: true}).
 */
public record Reply(Long retryAfterMillis, MultiMap upstreamHeaders, boolean replayed) {

    static final Reply PLAIN = new Reply(null, null, false);
}
