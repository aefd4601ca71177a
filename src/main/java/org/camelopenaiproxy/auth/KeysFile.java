package org.camelopenaiproxy.auth;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/** Parses {@code keys.yaml} into an immutable lookup table by key hash. */
public final class KeysFile {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private KeysFile() {
    }

    /** Keys by their SHA-256 hex. A missing or empty file gives an empty table. */
    public static Map<String, ClientKey> parse(byte[] content) throws Exception {
        Map<String, ClientKey> byHash = new HashMap<>();
        if (content == null || content.length == 0) {
            return Map.of();
        }
        JsonNode root = YAML.readTree(content);
        if (root == null || root.isMissingNode() || root.isNull()) {
            return Map.of();
        }
        JsonNode keys = root.path("keys");
        if (!keys.isMissingNode() && !keys.isNull() && !keys.isArray()) {
            throw new IllegalArgumentException("'keys' must be a list");
        }
        Set<String> names = new HashSet<>();
        int index = 0;
        for (JsonNode k : keys) {
            index++;
            String name = text(k, "name");
            String hash = text(k, "key_sha256");
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("key #" + index + " has no name");
            }
            if (hash == null || !hash.matches("(?i)[0-9a-f]{64}")) {
                throw new IllegalArgumentException("key '" + name + "' needs key_sha256: 64 hex digits");
            }
            if (!names.add(name)) {
                throw new IllegalArgumentException("key name '" + name + "' appears twice");
            }
            String expires = text(k, "expires_at");
            ClientKey key = new ClientKey(name, hash.toLowerCase(Locale.ROOT), list(k, "models"), list(k, "endpoints"),
                    expires == null ? null : OffsetDateTime.parse(expires).toInstant(),
                    k.path("disabled").asBoolean(false));
            byHash.put(key.keySha256(), key);
        }
        return Map.copyOf(byHash);
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static List<String> list(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        v.forEach(e -> out.add(e.asText()));
        return List.copyOf(out);
    }

    static Instant parseInstant(String s) {
        return OffsetDateTime.parse(s).toInstant();
    }
}
