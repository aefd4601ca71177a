package org.camelopenaiproxy.observe;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * Diagnostic mode, from {@code config/diagnostics.yaml} (watched: an edit applies within a poll
 * interval, no restart). Off when the file is absent:
 * <pre>
 * log_bodies: true          # access-log lines carry request and response bodies, secrets redacted
 * keys: [team-a]            # only for these callers (absent: all)
 * max_body_bytes: 16384     # each body is cut after this many bytes
 * redact: ['"ssn"\s*:\s*"[^"]*"']   # more patterns to mask, besides keys and the built-in ones
 * </pre>
 */
public record Diagnostics(boolean logBodies, Set<String> keys, int maxBodyBytes, List<Pattern> redact) {

    public static final Diagnostics OFF = new Diagnostics(false, Set.of(), 16384, List.of());

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Whether this caller's bodies are captured now. */
    public boolean capture(String keyName) {
        return logBodies && (keys.isEmpty() || (keyName != null && keys.contains(keyName)));
    }

    public static Diagnostics parse(byte[] content) throws Exception {
        if (content == null || content.length == 0) {
            return OFF;
        }
        JsonNode root = YAML.readTree(content);
        if (root == null || root.isMissingNode() || root.isNull()) {
            return OFF;
        }
        if (!root.isObject()) {
            throw new IllegalArgumentException("expected a mapping with log_bodies, keys, max_body_bytes, redact");
        }
        Set<String> keys = new HashSet<>();
        for (JsonNode k : root.path("keys")) {
            keys.add(k.asText());
        }
        List<Pattern> redact = new ArrayList<>();
        for (JsonNode p : root.path("redact")) {
            redact.add(Pattern.compile(p.asText())); // a bad pattern fails the parse: the old settings stay
        }
        int max = root.path("max_body_bytes").asInt(OFF.maxBodyBytes());
        if (max <= 0) {
            throw new IllegalArgumentException("max_body_bytes must be positive");
        }
        return new Diagnostics(root.path("log_bodies").asBoolean(false), Set.copyOf(keys), max, List.copyOf(redact));
    }
}
