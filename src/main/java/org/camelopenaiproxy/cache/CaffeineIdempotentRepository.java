package org.camelopenaiproxy.cache;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.service.ServiceSupport;

/**
 * The repository behind the {@code idempotentConsumer} EIP for Idempotency-Key: keys are kept for
 * {@code proxy.idempotency.ttl-ms} (24 h by default). Camel's own {@code IdempotentRepository}
 * interface is the seam for a shared store (camel-redis has one).
 */
public class CaffeineIdempotentRepository extends ServiceSupport implements IdempotentRepository {

    private final Cache<String, Boolean> keys;

    public CaffeineIdempotentRepository(long maxEntries, Duration ttl) {
        this.keys = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterWrite(ttl).executor(Runnable::run).build();
    }

    @Override
    public boolean add(String key) {
        return keys.asMap().putIfAbsent(key, Boolean.TRUE) == null;
    }

    @Override
    public boolean contains(String key) {
        return keys.getIfPresent(key) != null;
    }

    @Override
    public boolean remove(String key) {
        return keys.asMap().remove(key) != null;
    }

    @Override
    public boolean confirm(String key) {
        return true;
    }

    @Override
    public void clear() {
        keys.invalidateAll();
    }
}
