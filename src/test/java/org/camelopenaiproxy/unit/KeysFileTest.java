package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

import org.camelopenaiproxy.cli.KeysCommand;
import org.camelopenaiproxy.pipeline.auth.KeyHashes;
import org.camelopenaiproxy.pipeline.auth.KeysFile;
import org.camelopenaiproxy.request.ClientKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeysFileTest {

    static Map<String, ClientKey> parse(String yaml) throws Exception {
        return KeysFile.parse(yaml.getBytes(StandardCharsets.UTF_8)).byHash();
    }

    @Test
    void parses_the_documented_format() throws Exception {
        String hash = KeyHashes.sha256Hex("sk-proxy-a");
        Map<String, ClientKey> keys = parse("keys:\n  - name: team-a\n    key_sha256: " + hash.toUpperCase()
                + "\n    models: [\"gpt-4o*\", text-embedding-3-small]\n    endpoints: [/v1/chat/completions]\n"
                + "    expires_at: 2027-01-01T00:00:00Z\n"
                + "    limits: { max_concurrent: 4, requests_per_minute: 60, tokens_per_minute: 90000 }\n");
        ClientKey key = keys.get(hash);
        assertEquals("team-a", key.name());
        assertEquals(java.util.List.of("gpt-4o*", "text-embedding-3-small"), key.models().stream().map(org.camelopenaiproxy.config.Glob::text).toList());
        assertEquals(Instant.parse("2027-01-01T00:00:00Z"), key.expiresAt());
    }

    @Test
    void empty_or_missing_file_means_no_keys() throws Exception {
        assertTrue(KeysFile.parse(null).byHash().isEmpty());
        assertTrue(parse("").isEmpty());
        assertTrue(parse("keys: []\n").isEmpty());
        assertTrue(parse("# nothing yet\n").isEmpty());
    }

    @Test
    void rejects_malformed_entries() {
        assertThrows(Exception.class, () -> parse("keys:\n  - name: a\n    key_sha256: 1234\n"));
        assertThrows(Exception.class, () -> parse("keys:\n  - key_sha256: " + "a".repeat(64) + "\n"));
        assertThrows(Exception.class, () -> parse("keys:\n  - name: a\n    key_sha256: " + "a".repeat(64)
                + "\n  - name: a\n    key_sha256: " + "b".repeat(64) + "\n"));
        assertThrows(Exception.class, () -> parse("keys: {name: a}\n"));
        assertThrows(Exception.class, () -> parse("keys:\n  - name: [unclosed\n"));
    }

    @Test
    void keys_add_appends_the_hash_and_returns_a_fresh_key(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("keys.yaml");
        Files.writeString(file, "# comment kept\nkeys: []\n");

        String first = KeysCommand.add(file, "team-a");
        String second = KeysCommand.add(file, "team-b");

        assertTrue(first.startsWith(KeyHashes.KEY_PREFIX));
        assertNotEquals(first, second);
        String text = Files.readString(file);
        assertTrue(text.startsWith("# comment kept\n"));
        assertFalse(text.contains(first), "the key itself must never be stored");
        Map<String, ClientKey> keys = KeysFile.parse(Files.readAllBytes(file)).byHash();
        assertEquals("team-a", keys.get(KeyHashes.sha256Hex(first)).name());
        assertEquals("team-b", keys.get(KeyHashes.sha256Hex(second)).name());
        assertThrows(IllegalArgumentException.class, () -> KeysCommand.add(file, "team-a"));
    }

    @Test
    void keys_add_creates_a_missing_file(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/keys.yaml");
        String key = KeysCommand.add(file, "first");
        assertEquals("first", KeysFile.parse(Files.readAllBytes(file)).byHash().get(KeyHashes.sha256Hex(key)).name());
    }
}
