package org.camelopenaiproxy.request;

/** Header names the proxy reads or writes. */
public final class ProxyHeaders {

    public static final String AUTHORIZATION = "Authorization";
    public static final String API_KEY = "api-key";
    public static final String CONTENT_TYPE = "Content-Type";
    public static final String CONTENT_LENGTH = "Content-Length";
    public static final String CACHE_CONTROL = "Cache-Control";
    public static final String X_ACCEL_BUFFERING = "X-Accel-Buffering";
    public static final String CONNECTION = "Connection";
    public static final String ALLOW = "Allow";
    public static final String X_REQUEST_ID = "x-request-id";
    /** The upstream's own request id (OpenAI's {@code req_...}), next to ours in {@code x-request-id}. */
    public static final String X_UPSTREAM_REQUEST_ID = "x-upstream-request-id";
    public static final String RETRY_AFTER = "Retry-After";
    public static final String X_PROXY_CACHE = "x-proxy-cache";
    public static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    public static final String IDEMPOTENT_REPLAYED = "Idempotent-Replayed";
    public static final String RETRY_AFTER_MS = "retry-after-ms";
    public static final String EVENT_STREAM = "text/event-stream";

    private ProxyHeaders() {
    }
}
