package org.camelopenaiproxy.pipeline.limits;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.caffeine.CaffeineProxyManager;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;

/**
 * The embedded {@link RateLimitStore}: Bucket4j buckets held in Caffeine (through Bucket4j's async
 * proxy manager, whose answers are complete at once), counters in memory.
 */
public class LocalRateLimitStore implements RateLimitStore {

    private final AsyncProxyManager<String> buckets =
            new CaffeineProxyManager<String>(Caffeine.newBuilder().maximumSize(1_000_000), Duration.ofMinutes(5)).asAsync();
    private final ConcurrentHashMap<String, AtomicInteger> slots = new ConcurrentHashMap<>();

    @Override
    public AsyncBucketProxy bucket(String id, BucketConfiguration configuration) {
        return buckets.builder().build(id, () -> CompletableFuture.completedFuture(configuration));
    }

    @Override
    public CompletionStage<Boolean> tryAcquire(String id, int max) {
        AtomicInteger n = slots.computeIfAbsent(id, k -> new AtomicInteger());
        while (true) {
            int now = n.get();
            if (now >= max) {
                return CompletableFuture.completedFuture(false);
            }
            if (n.compareAndSet(now, now + 1)) {
                return CompletableFuture.completedFuture(true);
            }
        }
    }

    @Override
    public CompletionStage<Void> release(String id) {
        AtomicInteger n = slots.get(id);
        if (n != null) {
            n.decrementAndGet();
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Integer> inFlight(String id) {
        AtomicInteger n = slots.get(id);
        return CompletableFuture.completedFuture(n == null ? 0 : n.get());
    }
}
