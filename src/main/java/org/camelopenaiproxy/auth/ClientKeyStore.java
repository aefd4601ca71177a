package org.camelopenaiproxy.auth;

import java.util.Map;

import org.camelopenaiproxy.config.WatchedFile;

/** The client keys in force; backed by {@code keys.yaml}, which may change at any time. */
public class ClientKeyStore {

    private final WatchedFile<Map<String, ClientKey>> file;

    public ClientKeyStore(WatchedFile<Map<String, ClientKey>> file) {
        this.file = file;
    }

    /** The key entry matching the presented key, or {@code null}. */
    public ClientKey find(String presentedKey) {
        if (presentedKey == null || presentedKey.isEmpty()) {
            return null;
        }
        return file.get().get(KeyHashes.sha256Hex(presentedKey));
    }

    public int size() {
        return file.get().size();
    }
}
