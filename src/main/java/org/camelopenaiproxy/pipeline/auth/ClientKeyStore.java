package org.camelopenaiproxy.pipeline.auth;

import java.util.Map;

import org.camelopenaiproxy.config.WatchedFile;
import org.camelopenaiproxy.request.ClientKey;

/** The client keys in force; backed by {@code keys.yaml}, which may change at any time. */
public class ClientKeyStore {

    private final WatchedFile<KeyTable> file;

    public ClientKeyStore(WatchedFile<KeyTable> file) {
        this.file = file;
    }

    /** The key entry matching the presented key, or {@code null}. */
    public ClientKey find(String presentedKey) {
        if (presentedKey == null || presentedKey.isEmpty()) {
            return null;
        }
        return file.get().byHash().get(KeyHashes.sha256Hex(presentedKey));
    }

    public int size() {
        return file.get().byHash().size();
    }

    /** The global model aliases of the current keys file. */
    public Map<String, String> aliases() {
        return file.get().aliases();
    }
}
