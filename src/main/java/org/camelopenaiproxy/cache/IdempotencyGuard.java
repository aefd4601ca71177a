package org.camelopenaiproxy.cache;

import java.security.MessageDigest;
import java.util.HexFormat;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.AsyncProcessorSupport;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.http.ProxyRequest;
import org.camelopenaiproxy.limits.RateLimitException;

/**
 * Step {@code idempotencyGuard}, inside the {@code idempotentConsumer} EIP keyed by the caller's key
 * name and its {@code Idempotency-Key}. The first request with a key goes on, and its answer is kept
 * once it completed (any status below 500); it is forgotten if it fails, so a retry can go through.
 * A repeat with the same body gets the kept answer again ({@code Idempotent-Replayed: true},
 * streams as streams) without reaching the upstream; while the first is still running it gets 409
 * with {@code Retry-After} ({@code proxy.idempotency.in-flight=reject}), or waits for the first's
 * answer, without holding a thread, up to {@code proxy.idempotency.wait-ms}
 * ({@code proxy.idempotency.in-flight=wait}); with another body, 422.
 */
public class IdempotencyGuard extends AsyncProcessorSupport {

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
    private final Vertx vertx;
    private final long waitMillis;
    /** Repeats waiting for the first request with their key to finish (wait mode only). */
    private final ConcurrentHashMap<String, List<Runnable>> waiting = new ConcurrentHashMap<>();

    /** @param waitMillis 0: answer 409 at once; more: wait that long for the first request's answer */
    public IdempotencyGuard(ResponseStore<Entry> store, IdempotentRepository repository, long maxEntryBytes,
            Vertx vertx, long waitMillis) {
        this.store = store;
        this.repository = repository;
        this.maxEntryBytes = maxEntryBytes;
        this.vertx = vertx;
        this.waitMillis = waitMillis;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        try {
            if (check(exchange, callback)) {
                callback.done(true);
                return true;
            }
            return false;
        } catch (Exception e) {
            exchange.setException(e);
            callback.done(true);
            return true;
        }
    }

    /** @return true when done now; false when the exchange waits for the first request's answer */
    private boolean check(Exchange exchange, AsyncCallback callback) throws Exception {
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
                wakeUp(key);
            });
            return true;
        }
        Entry entry = store.get(key);
        if (entry != null && !entry.bodyHash().equals(hash)) {
            throw new ProxyException(422, "invalid_request_error", "idempotency_key_reused", null,
                    "This Idempotency-Key was used with a different request body.");
        }
        if (entry != null && entry.answer() != null) {
            replay(exchange, entry.answer());
            return true;
        }
        if (waitMillis <= 0 || entry == null) {
            throw inUse();
        }
        waitForFirst(exchange, request, key, callback);
        return false;
    }

    private void waitForFirst(Exchange exchange, ProxyRequest request, String key, AsyncCallback callback) {
        boolean[] done = {false};
        Runnable resume = () -> {
            if (done[0]) {
                return;
            }
            done[0] = true;
            Entry now = store.get(key);
            if (now != null && now.answer() != null) {
                replay(exchange, now.answer());
            } else {
                exchange.setException(inUse()); // the first failed or takes too long: the client retries
            }
            callback.done(false);
        };
        Runnable onContext = () -> {
            if (request.context() != null) {
                request.context().runOnContext(v -> resume.run());
            } else {
                resume.run();
            }
        };
        waiting.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(onContext);
        long timer = vertx.setTimer(waitMillis, id -> onContext.run());
        request.onFinish(outcome -> vertx.cancelTimer(timer));
        Entry again = store.get(key); // the first may have finished while this one registered
        if (again == null || again.answer() != null) {
            wakeUp(key);
        }
    }

    private void wakeUp(String key) {
        List<Runnable> waiters = waiting.remove(key);
        if (waiters != null) {
            waiters.forEach(Runnable::run);
        }
    }

    private static void replay(Exchange exchange, StoredResponse answer) {
        exchange.getMessage().setBody(answer);
        exchange.setProperty(REPLAYED, true);
        exchange.setRouteStop(true);
    }

    private static RateLimitException inUse() {
        return new RateLimitException(409, "invalid_request_error", "idempotency_key_in_use",
                "A request with this Idempotency-Key is still in progress; retry later.", 1000);
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
