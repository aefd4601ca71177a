package org.camelopenaiproxy.route;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The exact-match response cache: what is cached, what the key covers, what is never stored. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.keys.file={{sys:test.cache.keys}}"})
class CacheTest {

    static final Path KEYS = TestSetup.named("cache").keys("""
            keys:
              - name: tenant-a
                key_sha256: {{hash:sk-tenant-a}}
              - name: tenant-b
                key_sha256: {{hash:sk-tenant-b}}
              - name: no-cache-key
                key_sha256: {{hash:sk-nocache}}
                cache: false
            """).keysFile();


    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post(urlEqualTo("/v1/embeddings")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withHeader("openai-processing-ms", "12")
                .withBody("{\"data\":[{\"embedding\":[0.1,0.2]}]}")));
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"object\":\"chat.completion\"}")));
    }

    private static String cache(HttpResponse<?> r) {
        return r.headers().firstValue("x-proxy-cache").orElse("(none)");
    }

    private int upstreamCalls() {
        return upstream.getAllServeEvents().size();
    }

    @Test
    void embeddings_miss_then_hit_and_non_deterministic_chat_bypasses() throws Exception {
        String body = "{\"model\":\"text-embedding-3-small\",\"input\":\"hello\"}";
        HttpResponse<String> first = client.post("/v1/embeddings", "sk-tenant-a", body);
        HttpResponse<String> second = client.post("/v1/embeddings", "sk-tenant-a", body);
        assertEquals("MISS", cache(first));
        assertEquals("HIT", cache(second));
        assertEquals(first.body(), second.body());
        assertEquals(200, second.statusCode());
        assertEquals("12", second.headers().firstValue("openai-processing-ms").orElse(null));
        assertEquals(1, upstreamCalls());

        String chat = "{\"model\":\"gpt-4o\",\"messages\":[],\"temperature\":0.7}";
        assertEquals("BYPASS", cache(client.post("/v1/chat/completions", "sk-tenant-a", chat)));
        assertEquals("BYPASS", cache(client.post("/v1/chat/completions", "sk-tenant-a", chat)));
        assertEquals(3, upstreamCalls());
    }

    @Test
    void key_order_and_white_space_do_not_matter() throws Exception {
        client.post("/v1/embeddings", "sk-tenant-a", "{\"input\":[\"x\",\"y\"],\"model\":\"m\",\"dimensions\":8}");
        HttpResponse<String> again = client.post("/v1/embeddings", "sk-tenant-a",
                "{\n  \"model\" : \"m\",\n  \"dimensions\": 8,  \"input\" : [ \"x\", \"y\" ]\n}");
        assertEquals("HIT", cache(again));
        assertEquals(1, upstreamCalls());
    }

    @Test
    void every_output_changing_parameter_changes_the_key() throws Exception {
        String base = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0";
        String[] variants = {
            base + "}",
            base + ",\"n\":2}",
            base + ",\"seed\":7}",
            base + ",\"logprobs\":true}",
            base + ",\"response_format\":{\"type\":\"json_object\"}}",
            base + ",\"reasoning_effort\":\"high\"}",
            base + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}",
            base + ",\"max_tokens\":5}",
            base.replace("gpt-4o", "gpt-4o-mini") + "}",
            base.replace("\"hi\"", "\"hi!\"") + "}",
        };
        for (String v : variants) {
            assertEquals("MISS", cache(client.post("/v1/chat/completions", "sk-tenant-a", v)), v);
        }
        for (String v : variants) {
            assertEquals("HIT", cache(client.post("/v1/chat/completions", "sk-tenant-a", v)), v);
        }
        assertEquals(variants.length, upstreamCalls());
    }

    @Test
    void tenants_never_see_each_others_answers_and_a_key_can_opt_out() throws Exception {
        String body = "{\"model\":\"m\",\"input\":\"same\"}";
        assertEquals("MISS", cache(client.post("/v1/embeddings", "sk-tenant-a", body)));
        assertEquals("MISS", cache(client.post("/v1/embeddings", "sk-tenant-b", body)));
        assertEquals("BYPASS", cache(client.post("/v1/embeddings", "sk-nocache", body)));
        assertEquals("BYPASS", cache(client.post("/v1/embeddings", "sk-nocache", body)));
        assertEquals(4, upstreamCalls());
    }

    @Test
    void a_stream_is_stored_complete_and_replayed_event_identical() throws Exception {
        String sse = "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\ndata: [DONE]\n\n";
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(sse).withChunkedDribbleDelay(4, 300)));
        String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"seed\":42,\"messages\":[]}";

        HttpResponse<String> live = client.post("/v1/chat/completions", "sk-tenant-a", body);
        HttpResponse<String> replay = client.post("/v1/chat/completions", "sk-tenant-a", body);

        assertEquals(sse, live.body());
        assertEquals("HIT", cache(replay));
        assertEquals(sse, replay.body());
        assertTrue(replay.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertEquals(1, upstreamCalls());
    }

    @Test
    void a_stream_cut_short_is_not_stored() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody("data: {\"i\":0}\n\n".repeat(20))
                .withChunkedDribbleDelay(20, 10_000)));
        String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"temperature\":0,\"messages\":[]}";
        HttpResponse<InputStream> cut = client.http().send(client.request("/v1/chat/completions")
                .header("Authorization", "Bearer sk-tenant-a").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertTrue(cut.body().read() >= 0);
        cut.body().close();

        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody("data: [DONE]\n\n")));
        HttpResponse<String> next = client.post("/v1/chat/completions", "sk-tenant-a", body);
        assertEquals("MISS", cache(next));
        assertEquals("data: [DONE]\n\n", next.body());
    }

    @Test
    void non_2xx_answers_are_not_stored() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/embeddings")).willReturn(aResponse().withStatus(400)
                .withHeader("Content-Type", "application/json").withBody("{\"error\":{\"message\":\"bad\"}}")));
        String body = "{\"model\":\"m\",\"input\":\"bad\"}";
        assertEquals(400, client.post("/v1/embeddings", "sk-tenant-a", body).statusCode());
        assertEquals("MISS", cache(client.post("/v1/embeddings", "sk-tenant-a", body)));
        assertEquals(2, upstreamCalls());
    }

    @Test
    void cache_control_no_cache_skips_the_lookup_and_no_store_the_storing() throws Exception {
        String stored = "{\"model\":\"m\",\"input\":\"one\"}";
        client.post("/v1/embeddings", "sk-tenant-a", stored);
        assertEquals("BYPASS", cache(client.post("/v1/embeddings", "sk-tenant-a", stored, "Cache-Control", "no-cache")));
        assertEquals("HIT", cache(client.post("/v1/embeddings", "sk-tenant-a", stored)));

        String notStored = "{\"model\":\"m\",\"input\":\"two\"}";
        assertEquals("MISS", cache(client.post("/v1/embeddings", "sk-tenant-a", notStored, "Cache-Control", "no-store")));
        assertEquals("MISS", cache(client.post("/v1/embeddings", "sk-tenant-a", notStored)));
        assertEquals(4, upstreamCalls());
    }
}
