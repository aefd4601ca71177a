package org.camelopenaiproxy.errors;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.StreamResetException;
import io.netty.channel.ConnectTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that turns a failure into OpenAI's error shape:
 * {@code {"error":{"message","type","param","code"}}} with the matching HTTP status.
 * Messages never carry stack traces, keys or request bodies.
 */
public final class OpenAiError {

    public static final String CONTENT_TYPE = "application/json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiError.class);

    private OpenAiError() {
    }

    /** Maps any failure to the error the client sees. Unknown failures become a plain 500. */
    public static ProxyException from(Throwable failure) {
        Throwable t = failure;
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (t instanceof ProxyException pe) {
                return pe;
            }
            if (t instanceof ConnectTimeoutException) {
                return ProxyException.upstreamTimeout("Timed out connecting to the upstream API.");
            }
            if (t instanceof TimeoutException) {
                return ProxyException.upstreamTimeout("Timed out waiting for the upstream API.");
            }
            if (t instanceof ConnectException || t instanceof UnknownHostException || t instanceof HttpClosedException) {
                return ProxyException.upstreamUnreachable("The upstream API could not be reached.", null);
            }
            if (t instanceof javax.net.ssl.SSLException) {
                return new ProxyException(502, "server_error", "upstream_tls_error", null,
                        "TLS to the upstream API failed (certificate not trusted, or handshake refused).");
            }
            if (t instanceof StreamResetException && t.getCause() == null) {
                // the call was cancelled, most often because the client left: nobody to tell
                return ProxyException.upstreamUnreachable("The upstream call was cancelled.", null);
            }
            if (t instanceof RejectedExecutionException) {
                return ProxyException.unavailable("The proxy is not accepting requests right now; retry shortly.");
            }
        }
        LOG.warn("Request failed inside the proxy", failure);
        return new ProxyException(500, "server_error", "internal_error", null,
                "The proxy failed to process the request.");
    }

    /**
     * A message that names the request, the way OpenAI's own server errors do, so that the id the
     * client sees in an SDK exception leads to the access-log line and any dead-letter record.
     */
    public static String withRequestId(String message, String requestId) {
        return requestId == null ? message : message + " (request id: " + requestId + ")";
    }

    public static byte[] body(ProxyException e) {
        return body(e.type(), e.code(), e.param(), e.getMessage());
    }

    public static byte[] body(String type, String code, String param, String message) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        try {
            return JSON.writeValueAsBytes(Map.of("error", error));
        } catch (JsonProcessingException e) {
            return ("{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}")
                    .getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The error as a server-sent event, for failures after a stream has begun. */
    public static byte[] sseEvent(ProxyException e, String requestId) {
        byte[] json = body(e.type(), e.code(), e.param(), withRequestId(e.getMessage(), requestId));
        byte[] out = new byte[6 + json.length + 2];
        System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, out, 0, 6);
        System.arraycopy(json, 0, out, 6, json.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        return out;
    }
}
