package org.camelopenaiproxy.cache;

import java.security.MessageDigest;
import java.util.HexFormat;

import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.spi.IdempotentRepository;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.http.ProxyRequest;
import org.camelopenaiproxy.limits.RateLimitException;

/**
 * Step {@code idempotencyGuard}, inside the {@code idempotentConsumer} EIP keyed by the caller's key
 * name and its {@code Idempotency-Key}. The first request with a key goes on, and its answer is kept
 * once it completed (any status below 500); it is forgotten if it fails, so a retry can go through.
 * A repeat with the same body gets the kept answer again ({@code Idempotent-Replayed: true},
 * streams as streams) without reaching the upstream; while the first is still running it gets 409
 * with {@code Retry-After}; with another body, 422.
 */
public class IdempotencyGuard implements Processor {

    /** What is kept per key: the body's hash, and the answer once there is one. */
    public record Entry(String bodyHash, StoredResponse answer) {
    }

    /** Exchange property the route's idempotentConsumer expression reads. */
    public static final String KEY = "proxy.idempotency.key";
    /** Exchange property set on a replay (answered with {@code Idempotent-Replayed: true}). */
    public static final String REPLAYED = "proxy.idempotency.replayed";

    private final ResponseStore<Entry> store;
    private final IdempotentRepository repository;
    private final long maxEntryBytes;

    public IdempotencyGuard(ResponseStore<Entry> store, IdempotentRepository repository, long maxEntryBytes) {
        this.store = store;
        this.repository = repository;
        this.maxEntryBytes = maxEntryBytes;
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        ProxyRequest request = ProxyRequest.of(exchange);
        String key = exchange.getProperty(KEY, String.class);
        String hash = bodyHash(request, exchange.getMessage().getBody());
        boolean duplicate = exchange.getProperty(Exchange.DUPLICATE_MESSAGE, false, Boolean.class);
        if (!duplicate) {
            store.put(key, new Entry(hash, null));
            boolean[] kept = {false};
            request.recorder(maxEntryBytes).onComplete(answer -> {
                if (answer.status() < 500) {
                    store.put(key, new Entry(hash, answer));
                    kept[0] = true;
                }
            });
            request.onFinish(outcome -> {
                if (!kept[0]) {
                    store.remove(key);
                    repository.remove(key);
                }
            });
            return;
        }
        Entry entry = store.get(key);
        if (entry != null && !entry.bodyHash().equals(hash)) {
            throw new ProxyException(422, "invalid_request_error", "idempotency_key_reused", null,
                    "This Idempotency-Key was used with a different request body.");
        }
        if (entry == null || entry.answer() == null) {
            throw new RateLimitException(409, "invalid_request_error", "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still in progress; retry later.", 1000);
        }
        exchange.getMessage().setBody(entry.answer());
        exchange.setProperty(REPLAYED, true);
        exchange.setRouteStop(true);
    }

    private static String bodyHash(ProxyRequest request, Object body) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(request.path().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        if (body instanceof Buffer buffer) {
            sha.update(buffer.getBytes());
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
