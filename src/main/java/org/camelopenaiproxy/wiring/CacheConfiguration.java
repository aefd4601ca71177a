package org.camelopenaiproxy.wiring;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Ticker;
import io.vertx.core.Vertx;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.PropertyInject;
import org.apache.camel.spi.Registry;
import org.camelopenaiproxy.pipeline.cache.CaffeineIdempotentRepository;
import org.camelopenaiproxy.pipeline.cache.CaffeineResponseStore;
import org.camelopenaiproxy.pipeline.cache.IdempotencyGuard;
import org.camelopenaiproxy.pipeline.cache.IdempotencyKey;
import org.camelopenaiproxy.pipeline.cache.IdempotencyKeys;
import org.camelopenaiproxy.pipeline.cache.ResponseCache;
import org.camelopenaiproxy.pipeline.cache.ResponseStore;
import org.camelopenaiproxy.request.StoredResponse;

/**
 * Answers kept for later: the response cache and idempotent requests, with their stores. A store
 * bound under its name before the proxy's configurations run (a shared store) replaces the embedded one.
 */
public class CacheConfiguration implements CamelConfiguration {

    public static final String RESPONSE_CACHE_STORE = "responseCacheStore";
    public static final String IDEMPOTENCY_STORE = "idempotencyStore";
    public static final String IDEMPOTENCY_KEYS = "idempotencyRepository";

    @BindToRegistry(RESPONSE_CACHE_STORE)
    public ResponseStore<StoredResponse> responseCacheStore(Registry registry,
            @BeanInject(RuntimeConfiguration.TICKER) Ticker ticker,
            @PropertyInject("proxy.cache.max-bytes") long maxBytes,
            @PropertyInject("proxy.cache.max-entries") long maxEntries,
            @PropertyInject("proxy.cache.ttl-ms") long ttl) {
        return Beans.boundOr(registry, RESPONSE_CACHE_STORE, ResponseStore.class,
                () -> new CaffeineResponseStore<>(maxBytes, maxEntries, Duration.ofMillis(ttl), StoredResponse::weight,
                        ticker));
    }

    @BindToRegistry(IDEMPOTENCY_KEYS)
    public IdempotencyKeys idempotencyRepository(Registry registry,
            @BeanInject(RuntimeConfiguration.TICKER) Ticker ticker,
            @PropertyInject("proxy.idempotency.max-entries") long maxEntries,
            @PropertyInject("proxy.idempotency.ttl-ms") long ttl) {
        return Beans.boundOr(registry, IDEMPOTENCY_KEYS, IdempotencyKeys.class,
                () -> new CaffeineIdempotentRepository(maxEntries, Duration.ofMillis(ttl), ticker));
    }

    @BindToRegistry(IDEMPOTENCY_STORE)
    public ResponseStore<IdempotencyGuard.Entry> idempotencyStore(Registry registry,
            @BeanInject(RuntimeConfiguration.TICKER) Ticker ticker,
            @PropertyInject("proxy.idempotency.max-bytes") long maxBytes,
            @PropertyInject("proxy.idempotency.max-entries") long maxEntries,
            @PropertyInject("proxy.idempotency.ttl-ms") long ttl) {
        return Beans.boundOr(registry, IDEMPOTENCY_STORE, ResponseStore.class,
                () -> new CaffeineResponseStore<IdempotencyGuard.Entry>(maxBytes, maxEntries, Duration.ofMillis(ttl),
                        e -> e.answer() == null ? 128 : e.answer().weight(), ticker));
    }

    @BindToRegistry
    public IdempotencyKey idempotencyKey() {
        return new IdempotencyKey();
    }

    // The steps below use the stores of this class, so they are made on first use (by the routes).

    @BindToRegistry(lazy = true)
    public ResponseCache responseCache(@BeanInject(RESPONSE_CACHE_STORE) ResponseStore<StoredResponse> store,
            @PropertyInject("proxy.cache.enabled") boolean enabled,
            @PropertyInject("proxy.cache.endpoints") String endpoints,
            @PropertyInject("proxy.cache.scope") String scope,
            @PropertyInject("proxy.cache.max-entry-bytes") long maxEntryBytes) {
        return new ResponseCache(store, enabled, Beans.items(endpoints), "shared".equalsIgnoreCase(scope.trim()),
                maxEntryBytes);
    }

    @BindToRegistry(lazy = true)
    public IdempotencyGuard idempotencyGuard(@BeanInject(IDEMPOTENCY_STORE) ResponseStore<IdempotencyGuard.Entry> store,
            @BeanInject(IDEMPOTENCY_KEYS) IdempotencyKeys keys,
            @BeanInject("vertx") Vertx vertx,
            @PropertyInject("proxy.cache.max-entry-bytes") long maxEntryBytes,
            @PropertyInject("proxy.idempotency.in-flight") String inFlight,
            @PropertyInject("proxy.idempotency.wait-ms") long waitMillis) {
        return new IdempotencyGuard(store, keys, maxEntryBytes, vertx,
                "wait".equalsIgnoreCase(inFlight.trim()) ? waitMillis : 0);
    }
}
