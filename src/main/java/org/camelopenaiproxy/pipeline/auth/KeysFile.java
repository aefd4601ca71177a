package org.camelopenaiproxy.pipeline.auth;

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
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.config.IpAllowList;
import org.camelopenaiproxy.request.ClientKey;
import org.camelopenaiproxy.request.Limits;

/** Parses {@code keys.yaml} into an immutable lookup table by key hash. */
public final class KeysFile {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private KeysFile() {
    }

    /** Keys by their SHA-256 hex, and the global model aliases. A missing or empty file gives no keys. */
    public static KeyTable parse(byte[] content) throws Exception {
        Map<String, ClientKey> byHash = new HashMap<>();
        if (content == null || content.length == 0) {
            return KeyTable.EMPTY;
        }
        JsonNode root = YAML.readTree(content);
        if (root == null || root.isMissingNode() || root.isNull()) {
            return KeyTable.EMPTY;
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
            ClientKey key = new ClientKey(name, hash.toLowerCase(Locale.ROOT), globs(k, "models"), globs(k, "endpoints"),
                    expires == null ? null : OffsetDateTime.parse(expires).toInstant(),
                    k.path("disabled").asBoolean(false), limits(name, k.path("limits")), aliases(k.path("aliases")),
                    k.hasNonNull("cache") ? k.get("cache").asBoolean() : null, allowedIps(name, k));
            byHash.put(key.keySha256(), key);
        }
        return new KeyTable(Map.copyOf(byHash), aliases(root.path("aliases")));
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static List<Glob> globs(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw new IllegalArgumentException("'" + field + "' must be a list");
        }
        List<Glob> out = new ArrayList<>();
        v.forEach(e -> out.add(Glob.of(e.asText())));
        return List.copyOf(out);
    }

    /** {@code allowed_ips}: addresses and CIDR blocks; absent = any address. A bad entry fails the file. */
    private static IpAllowList allowedIps(String owner, JsonNode node) {
        JsonNode v = node.get("allowed_ips");
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw new IllegalArgumentException(owner + ": 'allowed_ips' must be a list");
        }
        List<String> entries = new ArrayList<>();
        v.forEach(e -> entries.add(e.asText()));
        try {
            return IpAllowList.parse(entries);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(owner + ": allowed_ips: " + e.getMessage(), e);
        }
    }

    /** A {@code limits} block: {@code max_concurrent}, {@code requests_per_minute}, {@code tokens_per_minute}. */
    public static Limits limits(String owner, JsonNode node) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return Limits.NONE;
        }
        return new Limits(positive(owner, node, "max_concurrent") == null ? null
                : positive(owner, node, "max_concurrent").intValue(),
                positive(owner, node, "requests_per_minute"), positive(owner, node, "tokens_per_minute"));
    }

    private static Long positive(String owner, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.canConvertToLong() || v.asLong() <= 0) {
            throw new IllegalArgumentException(owner + ": " + field + " must be a positive whole number");
        }
        return v.asLong();
    }

    /** An {@code aliases} map: model name the client sends -> model name the upstream gets. */
    public static Map<String, String> aliases(JsonNode node) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return Map.of();
        }
        Map<String, String> out = new HashMap<>();
        node.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        return Map.copyOf(out);
    }
}
