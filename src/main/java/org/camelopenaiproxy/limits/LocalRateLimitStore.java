package org.camelopenaiproxy.limits;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.caffeine.CaffeineProxyManager;
import io.github.bucket4j.distributed.proxy.ProxyManager;

/** The embedded {@link RateLimitStore}: Bucket4j buckets held in Caffeine, counters in memory. */
public class LocalRateLimitStore implements RateLimitStore {

    private final ProxyManager<String> buckets =
            new CaffeineProxyManager<>(Caffeine.newBuilder().maximumSize(1_000_000), Duration.ofMinutes(5));
    private final ConcurrentHashMap<String, AtomicInteger> slots = new ConcurrentHashMap<>();

    @Override
    public Bucket bucket(String id, BucketConfiguration configuration) {
        return buckets.builder().build(id, () -> configuration);
    }

    @Override
    public boolean tryAcquire(String id, int max) {
        AtomicInteger n = slots.computeIfAbsent(id, k -> new AtomicInteger());
        while (true) {
            int now = n.get();
            if (now >= max) {
                return false;
            }
            if (n.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    @Override
    public void release(String id) {
        AtomicInteger n = slots.get(id);
        if (n != null) {
            n.decrementAndGet();
        }
    }

    @Override
    public int inFlight(String id) {
        AtomicInteger n = slots.get(id);
        return n == null ? 0 : n.get();
    }
}
