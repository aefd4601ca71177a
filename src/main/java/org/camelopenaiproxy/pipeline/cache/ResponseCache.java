package org.camelopenaiproxy.pipeline.cache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.camelopenaiproxy.pipeline.AsyncStep;
import org.camelopenaiproxy.request.ClientKey;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.ResponseRecorder;
import org.camelopenaiproxy.request.Settlement;
import org.camelopenaiproxy.request.StoredResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pipeline step {@code responseCache}: the exact-match response cache. A request is cacheable when
 * its endpoint is in {@code proxy.cache.endpoints}, its key does not opt out, and (for chat,
 * completions and responses) it is deterministic: {@code temperature: 0} or a {@code seed}. The
 * cache key is the SHA-256 of endpoint, scope (the key name, unless {@code proxy.cache.scope=shared})
 * and the canonical JSON of the whole body (key order and white space do not matter, every
 * parameter does). A hit answers here, without the upstream and without counting against the
 * key's limits; a miss records the answer and stores it if it is a complete 2xx.
 * {@code Cache-Control: no-cache} skips the lookup, {@code no-store} the storing. The lookup waits
 * for the {@link ResponseStore} without holding the event loop; storing does not hold the answer.
 */
public class ResponseCache extends AsyncStep {

    private static final Logger LOG = LoggerFactory.getLogger(ResponseCache.class);
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    public static final String HIT = "HIT";
    public static final String MISS = "MISS";
    public static final String BYPASS = "BYPASS";

    private static final ObjectMapper CANONICAL = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
    private static final Set<String> ALWAYS_DETERMINISTIC = Set.of("/v1/embeddings");

    private final ResponseStore<StoredResponse> store;
    private final boolean enabled;
    private final Set<String> endpoints;
    private final boolean sharedScope;
    private final long maxEntryBytes;

    public ResponseCache(ResponseStore<StoredResponse> store, boolean enabled, Set<String> endpoints, boolean sharedScope,
            long maxEntryBytes) {
        this.store = store;
        this.enabled = enabled;
        this.endpoints = endpoints;
        this.sharedScope = sharedScope;
        this.maxEntryBytes = maxEntryBytes;
    }

    @Override
    protected CompletionStage<?> run(Exchange exchange) throws Exception {
        ProxyRequest request = ProxyRequest.of(exchange);
        Message message = exchange.getMessage();
        if (!cacheable(request, message)) {
            return DONE; // x-proxy-cache: BYPASS
        }
        String control = message.getHeader(ProxyHeaders.CACHE_CONTROL, "", String.class).toLowerCase(Locale.ROOT);
        boolean lookup = !control.contains("no-cache");
        boolean keep = !control.contains("no-store");
        if (!lookup && !keep) {
            return DONE;
        }
        String key = key(request, (Buffer) message.getBody());
        if (key == null) {
            return DONE; // not JSON after all
        }
        if (!lookup) {
            keep(request, key);
            return DONE;
        }
        return onContext(request.context(), store.get(key)).thenAccept(hit -> {
            if (hit != null) {
                request.cacheStatus(HIT);
                message.setBody(hit);
                exchange.setRouteStop(true);
                return;
            }
            request.cacheStatus(MISS);
            if (keep) {
                keep(request, key);
            }
        });
    }

    /** Stores the answer once it completed as a 2xx; the answer never waits for the store. */
    private void keep(ProxyRequest request, String key) {
        ResponseRecorder recorder = request.recorder(maxEntryBytes);
        request.atEnd(Settlement.CACHE_ENTRY, outcome -> {
            StoredResponse answer = recorder.answer();
            if (answer != null && answer.status() >= 200 && answer.status() < 300) {
                store.put(key, answer).whenComplete((v, e) -> {
                    if (e != null) {
                        LOG.warn("Could not store an answer in the response cache: {}", cause(e).toString());
                    }
                });
            }
        });
    }

    private boolean cacheable(ProxyRequest request, Message message) {
        ClientKey client = request.client();
        boolean on = client != null && client.cache() != null ? client.cache() : enabled;
        return on && endpoints.contains(request.path())
                && "POST".equals(message.getHeader(Exchange.HTTP_METHOD, String.class))
                && message.getBody() instanceof Buffer body && body.length() > 0
                && (ALWAYS_DETERMINISTIC.contains(request.path()) || request.facts().deterministic());
    }

    private String key(ProxyRequest request, Buffer body) throws Exception {
        byte[] canonical;
        try {
            canonical = CANONICAL.writeValueAsBytes(CANONICAL.readValue(body.getBytes(), Object.class));
        } catch (com.fasterxml.jackson.core.JacksonException notJson) {
            return null;
        }
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(request.path().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) '\n');
        String scope = sharedScope || request.client() == null ? "*shared*" : request.client().name();
        sha.update(scope.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) '\n');
        sha.update(canonical);
        return HexFormat.of().formatHex(sha.digest());
    }
}
