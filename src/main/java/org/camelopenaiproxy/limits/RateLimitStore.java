package org.camelopenaiproxy.limits;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;

/**
 * Where the per-key buckets and in-flight counters live. The embedded store keeps them in this
 * process ({@link LocalRateLimitStore}); a shared store (Redis through Bucket4j's ProxyManager and
 * INCR/DECR counters) lets several proxy instances enforce one budget, with no change to the routes.
 */
public interface RateLimitStore {

    /** The bucket for {@code id}, created with {@code configuration} if it does not exist yet. */
    Bucket bucket(String id, BucketConfiguration configuration);

    /** Takes one in-flight slot of {@code id} if fewer than {@code max} are taken. */
    boolean tryAcquire(String id, int max);

    /** Gives back a slot taken by {@link #tryAcquire}. */
    void release(String id);

    /** Slots of {@code id} taken now. */
    int inFlight(String id);
}
