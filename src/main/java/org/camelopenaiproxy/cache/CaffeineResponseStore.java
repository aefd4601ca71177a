package org.camelopenaiproxy.cache;

import java.time.Duration;
import java.util.function.ToIntFunction;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * The embedded {@link ResponseStore}: Caffeine, bounded by bytes and by entries, entries expiring
 * after a time to live. Caffeine takes one bound, so every entry weighs at least
 * {@code maxBytes / maxEntries}: the byte bound then also caps the number of entries.
 */
public class CaffeineResponseStore<V> implements ResponseStore<V> {

    private final Cache<String, V> cache;

    public CaffeineResponseStore(long maxBytes, long maxEntries, Duration ttl, ToIntFunction<V> weigher) {
        int floor = (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxBytes / Math.max(1, maxEntries)));
        this.cache = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher((String k, V v) -> Math.max(floor, weigher.applyAsInt(v)))
                .expireAfterWrite(ttl)
                .executor(Runnable::run)
                .build();
    }

    @Override
    public V get(String key) {
        return cache.getIfPresent(key);
    }

    @Override
    public void put(String key, V value) {
        cache.put(key, value);
    }

    @Override
    public void remove(String key) {
        cache.invalidate(key);
    }

    /** For tests: apply pending evictions now. */
    public void cleanUp() {
        cache.cleanUp();
    }

    public long size() {
        return cache.estimatedSize();
    }
}
