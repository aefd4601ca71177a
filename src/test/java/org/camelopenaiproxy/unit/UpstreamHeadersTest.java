package org.camelopenaiproxy.unit;

import java.util.LinkedHashMap;
import java.util.Map;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import org.camelopenaiproxy.upstream.UpstreamHeaders;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UpstreamHeadersTest {

    @Test
    void forwards_only_allowed_client_headers() {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("Content-Type", "application/json");
        message.put("Authorization", "Bearer sk-proxy-client");
        message.put("api-key", "sk-proxy-client");
        message.put("Accept-Encoding", "gzip");
        message.put("Connection", "keep-alive");
        message.put("Transfer-Encoding", "chunked");
        message.put("Host", "proxy.local");
        message.put("Cookie", "a=b");
        message.put("CamelHttpMethod", "POST");
        message.put("OpenAI-Organization", "org-1");
        message.put("X-Stainless-Retry-Count", "0");
        message.put("x-request-id", "abc");
        message.put("OpenAI-Project", 42); // not a string: never forwarded

        MultiMap out = HttpHeaders.headers();
        UpstreamHeaders.toUpstream(message, out);

        assertEquals("application/json", out.get("content-type"));
        assertEquals("org-1", out.get("openai-organization"));
        assertEquals("0", out.get("x-stainless-retry-count"));
        assertEquals("abc", out.get("x-request-id"));
        assertEquals(4, out.size(), out.toString());
    }

    @Test
    void returns_only_allowed_upstream_headers() {
        MultiMap upstream = HttpHeaders.headers()
                .add("Content-Type", "text/event-stream")
                .add("openai-processing-ms", "12")
                .add("x-ratelimit-limit-tokens", "1000")
                .add("retry-after-ms", "250")
                .add("Set-Cookie", "__cf_bm=x")
                .add("Connection", "keep-alive")
                .add("Transfer-Encoding", "chunked")
                .add("Strict-Transport-Security", "max-age=1")
                .add("CF-RAY", "abc");

        MultiMap out = HttpHeaders.headers();
        UpstreamHeaders.toClient(upstream, out);

        assertTrue(out.contains("content-type"));
        assertTrue(out.contains("openai-processing-ms"));
        assertTrue(out.contains("x-ratelimit-limit-tokens"));
        assertTrue(out.contains("retry-after-ms"));
        assertFalse(out.contains("set-cookie"));
        assertFalse(out.contains("connection"));
        assertFalse(out.contains("transfer-encoding"));
        assertFalse(out.contains("cf-ray"));
        assertEquals(4, out.size());
    }
}
