package org.camelopenaiproxy.pipeline.cache;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * The embedded {@link IdempotencyKeys}: keys are kept for {@code proxy.idempotency.ttl-ms} (24 h
 * by default), in Caffeine; its answers are complete at once.
 */
public class CaffeineIdempotentRepository implements IdempotencyKeys {

    private final Cache<String, Boolean> keys;

    public CaffeineIdempotentRepository(long maxEntries, Duration ttl) {
        this(maxEntries, ttl, Ticker.systemTicker());
    }

    public CaffeineIdempotentRepository(long maxEntries, Duration ttl, Ticker ticker) {
        this.keys = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterWrite(ttl).executor(Runnable::run)
                .ticker(ticker).build();
    }

    @Override
    public CompletionStage<Boolean> claim(String key) {
        return CompletableFuture.completedFuture(keys.asMap().putIfAbsent(key, Boolean.TRUE) == null);
    }

    @Override
    public CompletionStage<Void> forget(String key) {
        keys.invalidate(key);
        return CompletableFuture.completedFuture(null);
    }

    /** For tests: whether {@code key} is taken now. */
    public boolean contains(String key) {
        return keys.getIfPresent(key) != null;
    }
}
