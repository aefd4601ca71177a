package org.camelopenaiproxy.cache;

/**
 * Where stored answers live (the response cache, and the answers of Idempotency-Key requests).
 * The embedded store is {@link CaffeineResponseStore}; a shared one (Redis) can replace it for
 * several proxy instances without touching the routes.
 */
public interface ResponseStore<V> {

    V get(String key);

    void put(String key, V value);

    void remove(String key);
}
