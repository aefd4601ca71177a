package org.camelopenaiproxy.observe;

/**
 * One finished request as published to {@code routes/audit.camel.yaml}: its JSON line (the
 * access-log line, the audit event's body) and the fields that become the event's headers.
 */
public record RequestEvent(String json, String requestId, String key, String model, int status, String endpoint) {
}
