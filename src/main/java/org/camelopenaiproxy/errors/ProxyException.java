package org.camelopenaiproxy.errors;

import org.camelopenaiproxy.relay.OpenAiErrorResponder;

/**
 * A failure the proxy answers itself, carrying everything the OpenAI-shaped error body needs.
 * Thrown by pipeline steps; turned into a response by {@link OpenAiErrorResponder} in the
 * {@code errors} route configuration.
 */
public class ProxyException extends RuntimeException {

    private final int status;
    private final String type;
    private final String code;
    private final String param;

    public ProxyException(int status, String type, String code, String param, String message) {
        this(status, type, code, param, message, null);
    }

    public ProxyException(int status, String type, String code, String param, String message, Throwable cause) {
        super(message, cause, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }

    public String param() {
        return param;
    }

    public static ProxyException invalidApiKey(String message) {
        return new ProxyException(401, "invalid_request_error", "invalid_api_key", null, message);
    }

    public static ProxyException notFound(String message) {
        return new ProxyException(404, "invalid_request_error", "unknown_url", null, message);
    }

    public static ProxyException methodNotAllowed(String message) {
        return new ProxyException(405, "invalid_request_error", "method_not_allowed", null, message);
    }

    public static ProxyException requestTooLarge(long limit) {
        return new ProxyException(413, "invalid_request_error", "request_too_large", null,
                "Request body exceeds the proxy's limit of " + limit + " bytes.");
    }

    public static ProxyException badRequest(String code, String message) {
        return new ProxyException(400, "invalid_request_error", code, null, message);
    }

    public static ProxyException upstreamUnreachable(String message, Throwable cause) {
        return new ProxyException(502, "server_error", "upstream_unreachable", null, message, cause);
    }

    public static ProxyException upstreamTimeout(String message) {
        return new ProxyException(504, "server_error", "upstream_timeout", null, message);
    }

    public static ProxyException unavailable(String message) {
        return new ProxyException(503, "server_error", "service_unavailable", null, message);
    }
}
