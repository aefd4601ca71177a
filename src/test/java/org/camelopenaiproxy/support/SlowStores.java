package org.camelopenaiproxy.support;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.camelopenaiproxy.pipeline.cache.CaffeineIdempotentRepository;
import org.camelopenaiproxy.pipeline.cache.CaffeineResponseStore;
import org.camelopenaiproxy.pipeline.cache.IdempotencyKeys;
import org.camelopenaiproxy.pipeline.cache.ResponseStore;
import org.camelopenaiproxy.pipeline.limits.LocalRateLimitStore;
import org.camelopenaiproxy.pipeline.limits.RateLimitStore;
import org.camelopenaiproxy.wiring.CacheConfiguration;
import org.camelopenaiproxy.wiring.LimitsConfiguration;

/**
 * Stores that answer the way a remote one would: later, on another thread. Listed before
 * {@link org.camelopenaiproxy.ProxyConfiguration} in a test's {@code configurationClasses}, they replace the embedded
 * stores. The response cache and the Idempotency-Key stores answer every call after
 * {@link #DELAY}; the rate-limit store holds a slot request of a chosen key until the test lets it
 * go ({@link HeldRateLimitStore#hold}).
 */
public class SlowStores implements CamelConfiguration {

    public static final Duration DELAY = Duration.ofMillis(50);

    private static final ScheduledExecutorService LATER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "slow-store");
        t.setDaemon(true);
        return t;
    });
    /** Answers given after {@link #DELAY}, on the {@code slow-store} thread. */
    public static final AtomicInteger LATE_ANSWERS = new AtomicInteger();

    @Override
    public void configure(CamelContext context) {
        context.getRegistry().bind(LimitsConfiguration.RATE_LIMIT_STORE, new HeldRateLimitStore());
        context.getRegistry().bind(CacheConfiguration.RESPONSE_CACHE_STORE,
                new Delayed<>(new CaffeineResponseStore<>(1 << 24, 1000, Duration.ofHours(1), v -> 1)));
        context.getRegistry().bind(CacheConfiguration.IDEMPOTENCY_STORE,
                new Delayed<>(new CaffeineResponseStore<>(1 << 24, 1000, Duration.ofHours(1), v -> 1)));
        CaffeineIdempotentRepository keys = new CaffeineIdempotentRepository(1000, Duration.ofHours(1));
        context.getRegistry().bind(CacheConfiguration.IDEMPOTENCY_KEYS, new IdempotencyKeys() {
            @Override
            public CompletionStage<Boolean> claim(String key) {
                return later(keys.claim(key));
            }

            @Override
            public CompletionStage<Void> forget(String key) {
                return later(keys.forget(key));
            }
        });
    }

    /** {@code answer}, handed over {@link #DELAY} later on another thread. */
    static <T> CompletionStage<T> later(CompletionStage<T> answer) {
        CompletableFuture<T> late = new CompletableFuture<>();
        answer.whenComplete((v, e) -> LATER.schedule(() -> {
            LATE_ANSWERS.incrementAndGet();
            if (e != null) {
                late.completeExceptionally(e);
            } else {
                late.complete(v);
            }
        }, DELAY.toMillis(), TimeUnit.MILLISECONDS));
        return late;
    }

    /** A response store answering {@link #DELAY} late. */
    static final class Delayed<V> implements ResponseStore<V> {
        private final ResponseStore<V> store;

        Delayed(ResponseStore<V> store) {
            this.store = store;
        }

        @Override
        public CompletionStage<V> get(String key) {
            return later(store.get(key));
        }

        @Override
        public CompletionStage<Void> put(String key, V value) {
            return later(store.put(key, value));
        }

        @Override
        public CompletionStage<Void> remove(String key) {
            return later(store.remove(key));
        }
    }

    /** The embedded rate-limit store, except that a slot request of one chosen key waits for the test. */
    public static final class HeldRateLimitStore implements RateLimitStore {
        private final RateLimitStore store = new LocalRateLimitStore();
        private final AtomicReference<String> heldKey = new AtomicReference<>();
        private final AtomicReference<Runnable> waiting = new AtomicReference<>();

        /** The next slot request of key {@code name} waits until {@link #letGo()}. */
        public void hold(String name) {
            heldKey.set(name);
        }

        /** Whether a slot request is waiting now. */
        public boolean holding() {
            return waiting.get() != null;
        }

        /** Answers the waiting slot request, from the calling (test) thread. */
        public void letGo() {
            Runnable answer = waiting.getAndSet(null);
            if (answer != null) {
                answer.run();
            }
        }

        @Override
        public AsyncBucketProxy bucket(String id, BucketConfiguration configuration) {
            return store.bucket(id, configuration);
        }

        @Override
        public CompletionStage<Boolean> tryAcquire(String id, int max) {
            String held = heldKey.get();
            if (!id.equals(held) || !heldKey.compareAndSet(held, null)) {
                return store.tryAcquire(id, max);
            }
            CompletableFuture<Boolean> later = new CompletableFuture<>();
            waiting.set(() -> store.tryAcquire(id, max).whenComplete((v, e) -> later.complete(v)));
            return later;
        }

        @Override
        public CompletionStage<Void> release(String id) {
            return store.release(id);
        }

        @Override
        public CompletionStage<Integer> inFlight(String id) {
            return store.inFlight(id);
        }
    }
}
