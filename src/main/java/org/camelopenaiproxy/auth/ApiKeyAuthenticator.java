package org.camelopenaiproxy.auth;

import java.time.Instant;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.http.ProxyHeaders;
import org.camelopenaiproxy.http.ProxyRequest;

/**
 * Pipeline step {@code apiKeyAuthenticator}: identifies the caller by the proxy key in
 * {@code Authorization: Bearer <key>} or {@code api-key: <key>} and refuses the request with 401
 * when the key is missing or unknown. The key itself is never logged or echoed.
 */
public class ApiKeyAuthenticator implements Processor {

    /** Exchange property holding the caller's key name (for logs, metrics and later steps). */
    public static final String CLIENT_NAME = "proxy.client.name";
    private static final String BEARER = "bearer ";

    private final ClientKeyStore keys;

    public ApiKeyAuthenticator(ClientKeyStore keys) {
        this.keys = keys;
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
        if (key.disabled()) {
            throw new ProxyException(401, "invalid_request_error", "api_key_disabled", null,
                    "This API key has been disabled.");
        }
        if (key.expired(Instant.now())) {
            throw new ProxyException(401, "invalid_request_error", "api_key_expired", null,
                    "This API key expired at " + key.expiresAt() + ".");
        }
        ProxyRequest.of(exchange).client(key);
        exchange.setProperty(CLIENT_NAME, key.name());
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
