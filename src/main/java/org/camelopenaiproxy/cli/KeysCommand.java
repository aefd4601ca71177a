package org.camelopenaiproxy.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.camelopenaiproxy.pipeline.auth.KeyHashes;
import org.camelopenaiproxy.pipeline.auth.KeysFile;
import org.camelopenaiproxy.request.ClientKey;

/**
 * {@code keys add --name NAME [--file PATH]}: creates a client key, prints it once, and appends its
 * SHA-256 (never the key) to the keys file. A running proxy picks the new key up by itself.
 */
public final class KeysCommand {

    private static final String USAGE = "usage: keys add --name NAME [--file PATH]   (PATH defaults to $PROXY_KEYS_FILE or config/keys.yaml)";

    private KeysCommand() {
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        String name = null;
        String file = System.getenv().getOrDefault("PROXY_KEYS_FILE", "config/keys.yaml");
        if (args.length < 2 || !args[1].equals("add")) {
            err.println(USAGE);
            return 2;
        }
        for (int i = 2; i < args.length; i++) {
            if (args[i].equals("--name") && i + 1 < args.length) {
                name = args[++i];
            } else if (args[i].equals("--file") && i + 1 < args.length) {
                file = args[++i];
            } else {
                err.println(USAGE);
                return 2;
            }
        }
        if (name == null || !name.matches("[A-Za-z0-9._-]{1,64}")) {
            err.println("keys add: --name is required: 1-64 letters, digits, '.', '_' or '-'");
            return 2;
        }
        try {
            String key = add(Path.of(file), name);
            out.println(key);
            err.println("Added key '" + name + "' to " + file + ". It is shown only this once: store it now.");
            return 0;
        } catch (Exception e) {
            err.println("keys add: " + e.getMessage());
            return 1;
        }
    }

    /** Appends a new key named {@code name} to {@code file}; returns the key. */
    public static String add(Path file, String name) throws Exception {
        String existing = Files.exists(file) ? Files.readString(file) : "";
        Map<String, ClientKey> keys = KeysFile.parse(existing.getBytes(StandardCharsets.UTF_8)).byHash();
        if (keys.values().stream().anyMatch(k -> k.name().equals(name))) {
            throw new IllegalArgumentException("a key named '" + name + "' already exists in " + file);
        }
        String key = KeyHashes.newKey();
        StringBuilder text = new StringBuilder(existing.replaceFirst("(?m)^keys:\\s*\\[\\s*]\\s*$", "keys:"));
        if (!text.toString().matches("(?s).*(^|\\n)keys:.*")) {
            text.append(text.length() == 0 || text.charAt(text.length() - 1) == '\n' ? "" : "\n").append("keys:\n");
        } else if (text.length() > 0 && text.charAt(text.length() - 1) != '\n') {
            text.append('\n');
        }
        text.append("  - name: ").append(name).append('\n')
                .append("    key_sha256: ").append(KeyHashes.sha256Hex(key)).append('\n');
        KeysFile.parse(text.toString().getBytes(StandardCharsets.UTF_8)); // never write a file the proxy rejects
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return key;
    }
}
