package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.UpstreamTarget;
import org.camelopenaiproxy.upstream.UpstreamsFile;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UpstreamsFileTest {

    static final Deployment FALLBACK = new Deployment("default", Deployment.Type.OPENAI,
            UpstreamTarget.fromBaseUrl("default", "https://api.openai.com/v1", "sk"), 1, 0, List.of(Glob.of("*")), null, Map.of());

    static List<Deployment> parse(String yaml) throws Exception {
        return UpstreamsFile.parse(yaml.getBytes(StandardCharsets.UTF_8), FALLBACK, name -> "key-of-" + name);
    }

    @Test
    void without_the_file_the_pool_is_the_default_upstream() throws Exception {
        assertSame(FALLBACK, UpstreamsFile.parse(null, FALLBACK, n -> "").get(0));
    }

    @Test
    void parses_the_documented_example() throws Exception {
        List<Deployment> pool = parse("""
                upstreams:
                  - name: openai-primary
                    type: openai
                    base_url: https://api.openai.com/v1
                    api_key_env: OPENAI_API_KEY
                    weight: 3
                    priority: 0
                    models: ["*"]
                  - name: azure-eu
                    type: azure
                    base_url: https://my-resource.openai.azure.com
                    api_key_env: AZURE_OPENAI_API_KEY
                    api_version: "2024-10-21"
                    deployments: { gpt-4o: gpt4o-prod }
                    weight: 1
                    priority: 1
                    models: ["gpt-4o"]
                """);
        assertEquals(2, pool.size());
        Deployment azure = pool.get(1);
        assertEquals("key-of-AZURE_OPENAI_API_KEY", azure.target().apiKey());
        assertTrue(azure.serves("gpt-4o"));
        assertFalse(azure.serves("gpt-4o-mini"));
        assertEquals("/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
                azure.uriFor("/v1/chat/completions", null, "gpt-4o"));
        assertEquals("/openai/deployments/o1/chat/completions?a=b&api-version=2024-10-21",
                azure.uriFor("/v1/chat/completions", "a=b", "o1"));
        MultiMap headers = HttpHeaders.headers();
        azure.authenticate(headers);
        assertEquals("key-of-AZURE_OPENAI_API_KEY", headers.get("api-key"));
        assertFalse(headers.contains("Authorization"));
        MultiMap openai = HttpHeaders.headers();
        pool.get(0).authenticate(openai);
        assertEquals("Bearer key-of-OPENAI_API_KEY", openai.get("Authorization"));
    }

    @Test
    void rejects_broken_pools() {
        assertThrows(Exception.class, () -> parse("upstreams: []\n"));
        assertThrows(Exception.class, () -> parse("upstreams:\n  - name: a\n    type: smtp\n    base_url: http://x/v1\n"));
        assertThrows(Exception.class, () -> parse("upstreams:\n  - name: a\n    type: azure\n    base_url: http://x\n"));
        assertThrows(Exception.class, () -> parse("upstreams:\n  - name: a\n    base_url: http://x/v1\n"
                + "  - name: a\n    base_url: http://y/v1\n"));
    }
}
