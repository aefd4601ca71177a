package org.camelopenaiproxy.cache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.camelopenaiproxy.auth.ClientKey;
import org.camelopenaiproxy.http.ProxyHeaders;
import org.camelopenaiproxy.http.ProxyRequest;

/**
 * Pipeline step {@code responseCache}: the exact-match response cache. A request is cacheable when
 * its endpoint is in {@code proxy.cache.endpoints}, its key does not opt out, and (for chat,
 * completions and responses) it is deterministic: {@code temperature: 0} or a {@code seed}. The
 * cache key is the SHA-256 of endpoint, scope (the key name, unless {@code proxy.cache.scope=shared})
 * and the canonical JSON of the whole body (key order and white space do not matter, every
 * parameter does). A hit answers here, without the upstream and without counting against the
 * key's limits; a miss records the answer and stores it if it is a complete 2xx.
 * {@code Cache-Control: no-cache} skips the lookup, {@code no-store} the storing.
 */
public class ResponseCache implements Processor {

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
    public void process(Exchange exchange) throws Exception {
        ProxyRequest request = ProxyRequest.of(exchange);
        Message message = exchange.getMessage();
        if (!cacheable(request, message)) {
            return; // x-proxy-cache: BYPASS
        }
        String control = message.getHeader(ProxyHeaders.CACHE_CONTROL, "", String.class).toLowerCase(Locale.ROOT);
        boolean lookup = !control.contains("no-cache");
        boolean keep = !control.contains("no-store");
        if (!lookup && !keep) {
            return;
        }
        String key = key(request, (Buffer) message.getBody());
        if (key == null) {
            return; // not JSON after all
        }
        if (lookup) {
            StoredResponse hit = store.get(key);
            if (hit != null) {
                request.cacheStatus(HIT);
                message.setBody(hit);
                exchange.setRouteStop(true);
                return;
            }
            request.cacheStatus(MISS);
        }
        if (keep) {
            request.recorder(maxEntryBytes).onComplete(answer -> {
                if (answer.status() >= 200 && answer.status() < 300) {
                    store.put(key, answer);
                }
            });
        }
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
