package org.camelopenaiproxy.request;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code Sec-WebSocket-Protocol} offer of a client. Browsers cannot set an {@code Authorization}
 * header on a WebSocket, so OpenAI's browser clients send the key as the subprotocol
 * {@code openai-insecure-api-key.<key>}: that one is the proxy key, read here and never forwarded;
 * the others ({@code realtime}, {@code openai-beta.realtime-v1}, ...) go upstream as offered.
 */
public record Subprotocols(String apiKey, List<String> forwarded) {

    public static final String HEADER = "Sec-WebSocket-Protocol";
    public static final String KEY_PREFIX = "openai-insecure-api-key.";

    /** Parses the header's value ({@code null}: no offer). */
    public static Subprotocols parse(String header) {
        String key = null;
        List<String> forwarded = new ArrayList<>();
        if (header != null) {
            for (String part : header.split(",")) {
                String protocol = part.trim();
                if (protocol.isEmpty()) {
                    continue;
                }
                if (protocol.regionMatches(true, 0, KEY_PREFIX, 0, KEY_PREFIX.length())) {
                    if (key == null && protocol.length() > KEY_PREFIX.length()) {
                        key = protocol.substring(KEY_PREFIX.length());
                    }
                } else {
                    forwarded.add(protocol);
                }
            }
        }
        return new Subprotocols(key, List.copyOf(forwarded));
    }

    @Override
    public String toString() {
        return "Subprotocols" + forwarded + (apiKey == null ? "" : " + key");
    }
}
