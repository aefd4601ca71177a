package org.camelopenaiproxy.pipeline.limits;

import java.util.concurrent.CompletionStage;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.AsyncBucketProxy;

/**
 * Where the per-key buckets and in-flight counters live. Every call that may touch the store
 * answers with a {@link CompletionStage} (or an asynchronous Bucket4j bucket), so that a shared
 * store (Redis through Bucket4j's async ProxyManager and INCR/DECR counters) never blocks an event
 * loop; the {@code throttle} step waits for it without holding a thread. The embedded store keeps
 * everything in this process ({@link LocalRateLimitStore}) and answers at once.
 */
public interface RateLimitStore {

    /** The bucket for {@code id}, created with {@code configuration} if it does not exist yet. */
    AsyncBucketProxy bucket(String id, BucketConfiguration configuration);

    /** Takes one in-flight slot of {@code id} if fewer than {@code max} are taken: true when taken. */
    CompletionStage<Boolean> tryAcquire(String id, int max);

    /** Gives back a slot taken by {@link #tryAcquire}. */
    CompletionStage<Void> release(String id);

    /** Slots of {@code id} taken now. */
    CompletionStage<Integer> inFlight(String id);
}
