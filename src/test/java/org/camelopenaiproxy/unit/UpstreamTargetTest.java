package org.camelopenaiproxy.unit;

import org.camelopenaiproxy.upstream.UpstreamTarget;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UpstreamTargetTest {

    @Test
    void openai_base_url_maps_client_paths_under_v1() {
        UpstreamTarget t = UpstreamTarget.fromBaseUrl("openai", "https://api.openai.com/v1", "sk");
        assertTrue(t.ssl());
        assertEquals(443, t.port());
        assertEquals("api.openai.com", t.host());
        assertEquals("/v1/chat/completions", t.uriFor("/v1/chat/completions", null));
        assertEquals("/v1/files?purpose=batch&after=f%20x", t.uriFor("/v1/files", "purpose=batch&after=f%20x"));
    }

    @Test
    void compatible_server_with_its_own_prefix_and_port() {
        UpstreamTarget t = UpstreamTarget.fromBaseUrl("vllm", "http://127.0.0.1:8000/openai/v1/", "");
        assertFalse(t.ssl());
        assertEquals(8000, t.port());
        assertEquals("/openai/v1/embeddings", t.uriFor("/v1/embeddings", ""));
    }

    @Test
    void rejects_urls_that_are_not_http() {
        assertThrows(IllegalArgumentException.class, () -> UpstreamTarget.fromBaseUrl("x", "ftp://h/v1", ""));
        assertThrows(IllegalArgumentException.class, () -> UpstreamTarget.fromBaseUrl("x", "localhost:8080", ""));
    }

    @Test
    void never_prints_its_key() {
        UpstreamTarget t = UpstreamTarget.fromBaseUrl("openai", "https://api.openai.com/v1", "sk-secret-123");
        assertFalse(t.toString().contains("sk-secret-123"));
    }
}
