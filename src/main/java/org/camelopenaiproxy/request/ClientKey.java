package org.camelopenaiproxy.request;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.config.IpAllowList;

/**
 * One client key of {@code config/keys.yaml} and its policy. Only the SHA-256 of the key is kept;
 * {@link #name()} is what appears in logs and metrics. {@code models} and {@code endpoints} are
 * allow-lists ({@code null}: everything allowed); {@code aliases} map a model name the client sends
 * to the one the upstream receives, on top of the global aliases. {@code cache} turns the response
 * cache on or off for this key ({@code null}: the global setting). {@code allowedIps} are the
 * addresses the key may be used from ({@code null}: anywhere).
 */
public record ClientKey(String name, String keySha256, List<Glob> models, List<Glob> endpoints,
        Instant expiresAt, boolean disabled, Limits limits, Map<String, String> aliases, Boolean cache,
        IpAllowList allowedIps) {

    public boolean expired(Instant now) {
        return expiresAt != null && !now.isBefore(expiresAt);
    }
}
