package org.camelopenaiproxy.auth;

import java.time.Instant;
import java.util.List;

/**
 * One client key of {@code config/keys.yaml}. Only the SHA-256 of the key is kept; {@link #name()}
 * is what appears in logs and metrics.
 */
public record ClientKey(String name, String keySha256, List<String> models, List<String> endpoints,
        Instant expiresAt, boolean disabled) {
}
