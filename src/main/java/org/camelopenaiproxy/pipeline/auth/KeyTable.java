package org.camelopenaiproxy.pipeline.auth;

import java.util.Map;

import org.camelopenaiproxy.request.ClientKey;

/** One snapshot of {@code keys.yaml}: the keys by SHA-256 hex, and the global model aliases. */
public record KeyTable(Map<String, ClientKey> byHash, Map<String, String> aliases) {

    public static final KeyTable EMPTY = new KeyTable(Map.of(), Map.of());
}
