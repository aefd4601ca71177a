package org.camelopenaiproxy.pipeline.cache;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.errors.RateLimitException;
import org.camelopenaiproxy.pipeline.AsyncStep;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.ResponseRecorder;
import org.camelopenaiproxy.request.Settlement;
import org.camelopenaiproxy.request.StoredResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Step {@code idempotencyGuard}, for a request whose {@code Idempotency-Key} step
 * {@code idempotencyKey} turned into a key scoped by the caller's key name (other requests pass
 * untouched). The first request with a key claims it ({@link IdempotencyKeys}) and goes on, and its
 * answer is kept once it completed (any status below 500 but 408 and 429); it is forgotten if it fails, so a retry
 * can go through. A repeat with the same body gets the kept answer again
 * ({@code Idempotent-Replayed: true}, streams as streams) without reaching the upstream; while the
 * first is still running it gets 409 with {@code Retry-After}
 * ({@code proxy.idempotency.in-flight=reject}), or waits for the first's answer, without holding a
 * thread, up to {@code proxy.idempotency.wait-ms} ({@code proxy.idempotency.in-flight=wait}); with
 * another body, 422. Both stores are asynchronous: the step waits for them on the request's context.
 */
public class IdempotencyGuard extends AsyncStep {

    private static final Logger LOG = LoggerFactory.getLogger(IdempotencyGuard.class);
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    /** What is kept per key: the body's hash, and the answer once there is one. */
    public record Entry(String bodyHash, StoredResponse answer) {
    }

    private final ResponseStore<Entry> store;
    private final IdempotencyKeys keys;
    private final long maxEntryBytes;
    private final Vertx vertx;
    private final long waitMillis;
    /** Repeats waiting for the first request with their key to finish (wait mode only). */
    private final ConcurrentHashMap<String, List<Runnable>> waiting = new ConcurrentHashMap<>();

    /** @param waitMillis 0: answer 409 at once; more: wait that long for the first request's answer */
    public IdempotencyGuard(ResponseStore<Entry> store, IdempotencyKeys keys, long maxEntryBytes,
            Vertx vertx, long waitMillis) {
        this.store = store;
        this.keys = keys;
        this.maxEntryBytes = maxEntryBytes;
        this.vertx = vertx;
        this.waitMillis = waitMillis;
    }

    @Override
    protected CompletionStage<?> run(Exchange exchange) throws Exception {
        ProxyRequest request = ProxyRequest.of(exchange);
        String key = request.idempotencyKey();
        if (key == null) {
            return DONE;
        }
        String hash = bodyHash(request, exchange.getMessage().getBody());
        Context context = request.context();
        return onContext(context, keys.claim(key)).thenCompose(first -> first
                ? first(request, key, hash)
                : repeat(exchange, request, key, hash));
    }

    /** The first request with {@code key}: keep its answer when it completes, or forget the key. */
    private CompletionStage<Void> first(ProxyRequest request, String key, String hash) {
        return onContext(request.context(), store.put(key, new Entry(hash, null))).thenRun(() -> {
            ResponseRecorder recorder = request.recorder(maxEntryBytes);
            request.atEnd(Settlement.IDEMPOTENT_ANSWER, outcome -> {
                StoredResponse answer = recorder.answer();
                // a refusal to run now (rate limit, timeout) is no result: the retry must go through
                CompletionStage<Void> settled = answer != null && answer.status() < 500 && answer.status() != 429
                        && answer.status() != 408
                        ? store.put(key, new Entry(hash, answer))
                        : store.remove(key).thenCompose(v -> keys.forget(key));
                settled.whenComplete((v, e) -> {
                    if (e != null) {
                        LOG.warn("Could not settle an Idempotency-Key: {}", cause(e).toString());
                    }
                    wakeUp(key);
                });
            });
        });
    }

    private CompletionStage<Void> repeat(Exchange exchange, ProxyRequest request, String key, String hash) {
        return onContext(request.context(), store.get(key)).thenCompose(entry -> {
            if (entry != null && !entry.bodyHash().equals(hash)) {
                throw new ProxyException(422, "invalid_request_error", "idempotency_key_reused", null,
                        "This Idempotency-Key was used with a different request body.");
            }
            if (entry != null && entry.answer() != null) {
                replay(exchange, entry.answer());
                return DONE;
            }
            if (waitMillis <= 0 || entry == null) {
                throw inUse();
            }
            return waitForFirst(exchange, request, key);
        });
    }

    private CompletionStage<Void> waitForFirst(Exchange exchange, ProxyRequest request, String key) {
        Context context = request.context();
        CompletableFuture<Void> resumed = new CompletableFuture<>();
        boolean[] done = {false};
        Runnable resume = () -> {
            if (done[0]) {
                return;
            }
            done[0] = true;
            onContext(context, store.get(key)).whenComplete((now, e) -> {
                if (e != null) {
                    resumed.completeExceptionally(e);
                } else if (now != null && now.answer() != null) {
                    replay(exchange, now.answer());
                    resumed.complete(null);
                } else {
                    resumed.completeExceptionally(inUse()); // the first failed or takes too long: the client retries
                }
            });
        };
        Runnable onContext = () -> {
            if (context != null) {
                context.runOnContext(v -> resume.run());
            } else {
                resume.run();
            }
        };
        waiting.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(onContext);
        long timer = vertx.setTimer(waitMillis, id -> onContext.run());
        request.atEnd(Settlement.IDEMPOTENT_ANSWER, outcome -> vertx.cancelTimer(timer));
        store.get(key).thenAccept(again -> { // the first may have finished while this one registered
            if (again == null || again.answer() != null) {
                wakeUp(key);
            }
        });
        return resumed;
    }

    private void wakeUp(String key) {
        List<Runnable> waiters = waiting.remove(key);
        if (waiters != null) {
            waiters.forEach(Runnable::run);
        }
    }

    private static void replay(Exchange exchange, StoredResponse answer) {
        exchange.getMessage().setBody(answer);
        ProxyRequest.of(exchange).markReplayed();
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
