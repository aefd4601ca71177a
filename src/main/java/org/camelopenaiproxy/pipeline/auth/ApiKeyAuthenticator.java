package org.camelopenaiproxy.pipeline.auth;

import java.net.InetAddress;
import java.time.Instant;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.request.ClientKey;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;

/**
 * Pipeline step {@code apiKeyAuthenticator}: identifies the caller by the proxy key in
 * {@code Authorization: Bearer <key>} or {@code api-key: <key>} and refuses the request with 401
 * when the key is missing or unknown, with 403 when the key has {@code allowed_ips} and the client's
 * address ({@link ClientAddress}) is not among them. The key itself is never logged or echoed.
 */
public class ApiKeyAuthenticator implements Processor {

    private static final String BEARER = "bearer ";

    private final ClientKeyStore keys;
    private final ClientAddress clientAddress;

    public ApiKeyAuthenticator(ClientKeyStore keys, ClientAddress clientAddress) {
        this.keys = keys;
        this.clientAddress = clientAddress;
    }

    @Override
    public void process(Exchange exchange) {
        String presented = presentedKey(exchange.getMessage());
        if (presented == null) {
            throw ProxyException.invalidApiKey(
                    "You didn't provide an API key. Send your proxy key as 'Authorization: Bearer <key>'.");
        }
        ClientKey key = keys.find(presented);
        if (key == null) {
            throw ProxyException.invalidApiKey("Incorrect API key provided.");
        }
        ProxyRequest request = ProxyRequest.of(exchange);
        if (key.allowedIps() != null) {
            InetAddress from = request.request() == null ? null : clientAddress.of(request.request());
            if (!key.allowedIps().allows(from)) {
                throw new ProxyException(403, "invalid_request_error", "ip_not_allowed", null,
                        "Key '" + key.name() + "' may not be used from "
                        + (from == null ? "this address" : from.getHostAddress()) + ".");
            }
        }
        if (key.disabled()) {
            throw new ProxyException(401, "invalid_request_error", "api_key_disabled", null,
                    "This API key has been disabled.");
        }
        if (key.expired(Instant.now())) {
            throw new ProxyException(401, "invalid_request_error", "api_key_expired", null,
                    "This API key expired at " + key.expiresAt() + ".");
        }
        request.client(key);
    }

    static String presentedKey(Message message) {
        String auth = message.getHeader(ProxyHeaders.AUTHORIZATION, String.class);
        if (auth != null && auth.length() > BEARER.length() && auth.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return auth.substring(BEARER.length()).trim();
        }
        String apiKey = message.getHeader(ProxyHeaders.API_KEY, String.class);
        return apiKey == null || apiKey.isBlank() ? null : apiKey.trim();
    }
}
