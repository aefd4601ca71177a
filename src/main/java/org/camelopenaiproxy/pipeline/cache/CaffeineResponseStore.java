package org.camelopenaiproxy.pipeline.cache;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.ToIntFunction;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * The embedded {@link ResponseStore}: Caffeine, bounded by bytes and by entries, entries expiring
 * after a time to live. Caffeine takes one bound, so every entry weighs at least
 * {@code maxBytes / maxEntries}: the byte bound then also caps the number of entries. Its answers
 * are complete at once. Time is read from a {@link Ticker} (the system's, or a test's clock).
 */
public class CaffeineResponseStore<V> implements ResponseStore<V> {

    private final Cache<String, V> cache;

    public CaffeineResponseStore(long maxBytes, long maxEntries, Duration ttl, ToIntFunction<V> weigher) {
        this(maxBytes, maxEntries, ttl, weigher, Ticker.systemTicker());
    }

    public CaffeineResponseStore(long maxBytes, long maxEntries, Duration ttl, ToIntFunction<V> weigher, Ticker ticker) {
        int floor = (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxBytes / Math.max(1, maxEntries)));
        this.cache = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher((String k, V v) -> Math.max(floor, weigher.applyAsInt(v)))
                .expireAfterWrite(ttl)
                .executor(Runnable::run)
                .ticker(ticker)
                .build();
    }

    @Override
    public CompletionStage<V> get(String key) {
        return CompletableFuture.completedFuture(cache.getIfPresent(key));
    }

    @Override
    public CompletionStage<Void> put(String key, V value) {
        cache.put(key, value);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> remove(String key) {
        cache.invalidate(key);
        return CompletableFuture.completedFuture(null);
    }

    /** For tests: apply pending evictions now. */
    public void cleanUp() {
        cache.cleanUp();
    }

    public long size() {
        return cache.estimatedSize();
    }
}
