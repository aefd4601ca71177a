package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Idempotency-Key: replay, 422 for another body, 409 while the first runs, failures forgotten. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.keys.file={{sys:test.idem.keys}}", "proxy.cache.enabled=false",
            "proxy.retry.max-attempts=1"})
class IdempotencyTest {

    static final Path KEYS = TestSetup.named("idem").keys("""
            keys:
              - name: caller-a
                key_sha256: {{hash:sk-caller-a}}
              - name: caller-b
                key_sha256: {{hash:sk-caller-b}}
            """).keysFile();


    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withHeader("openai-processing-ms", "5")
                .withBody("{\"id\":\"chatcmpl-once\"}")));
    }

    private HttpRequest request(String caller, String idempotencyKey, String body) {
        return client.request("/v1/chat/completions").header("Authorization", "Bearer " + caller)
                .header("Content-Type", "application/json").header("Idempotency-Key", idempotencyKey)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private int upstreamCalls() {
        return upstream.getAllServeEvents().size();
    }

    @Test
    void a_completed_request_is_replayed_without_calling_the_upstream() throws Exception {
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"pay once\"}]}";
        HttpResponse<String> first = client.send(request("sk-caller-a", "k-1", body));
        HttpResponse<String> again = client.send(request("sk-caller-a", "k-1", body));

        assertEquals(200, again.statusCode());
        assertEquals(first.body(), again.body());
        assertEquals("5", again.headers().firstValue("openai-processing-ms").orElse(null));
        assertEquals("true", again.headers().firstValue("idempotent-replayed").orElse(null));
        assertFalse(first.headers().firstValue("idempotent-replayed").isPresent());
        assertEquals(1, upstreamCalls());
    }

    @Test
    void a_stream_is_replayed_as_a_stream() throws Exception {
        String sse = "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: [DONE]\n\n";
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(sse).withChunkedDribbleDelay(3, 200)));
        String body = "{\"model\":\"gpt-4o\",\"stream\":true}";
        client.send(request("sk-caller-a", "k-stream", body));
        HttpResponse<String> again = client.send(request("sk-caller-a", "k-stream", body));
        assertEquals(sse, again.body());
        assertTrue(again.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertEquals(1, upstreamCalls());
    }

    @Test
    void the_same_key_with_another_body_gets_422() throws Exception {
        client.send(request("sk-caller-a", "k-2", "{\"model\":\"gpt-4o\",\"messages\":[]}"));
        HttpResponse<String> other = client.send(request("sk-caller-a", "k-2", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}"));
        assertOpenAiError(other, 422, "idempotency_key_reused");
        assertEquals(1, upstreamCalls());
    }

    @Test
    void two_concurrent_requests_with_one_key_reach_the_upstream_once() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"id\":\"slow\"}").withFixedDelay(1000)));
        String body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
        CompletableFuture<HttpResponse<String>> first = client.http().sendAsync(request("sk-caller-a", "k-3", body),
                HttpResponse.BodyHandlers.ofString());
        Await.that(5, "the first request at the upstream", () -> upstreamCalls() > 0);
        HttpResponse<String> second = client.send(request("sk-caller-a", "k-3", body));

        assertOpenAiError(second, 409, "idempotency_key_in_use");
        assertEquals("1", second.headers().firstValue("retry-after").orElse(null));
        assertEquals(200, first.get().statusCode());
        assertEquals(1, upstreamCalls());
        HttpResponse<String> afterwards = client.send(request("sk-caller-a", "k-3", body));
        assertEquals("{\"id\":\"slow\"}", afterwards.body());
        assertEquals(1, upstreamCalls());
    }

    @Test
    void keys_are_per_caller() throws Exception {
        String body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
        client.send(request("sk-caller-a", "shared-key", body));
        HttpResponse<String> b = client.send(request("sk-caller-b", "shared-key", body));
        assertFalse(b.headers().firstValue("idempotent-replayed").isPresent());
        assertEquals(2, upstreamCalls());
    }

    @Test
    void a_failed_request_is_forgotten_so_the_client_can_retry() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(500).withBody("{}")));
        String body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
        assertEquals(500, client.send(request("sk-caller-a", "k-4", body)).statusCode(), "the upstream's own 500");

        reset();
        HttpResponse<String> retry = client.send(request("sk-caller-a", "k-4", body));
        assertEquals(200, retry.statusCode(), retry.body());
        assertEquals("{\"id\":\"chatcmpl-once\"}", retry.body());
    }

    @Test
    void a_final_429_is_forgotten_so_the_sdks_retry_after_the_wait_goes_through() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(429)
                .withHeader("retry-after", "60").withBody("{\"error\":{\"message\":\"slow down\"}}")));
        String body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
        HttpResponse<String> limited = client.send(request("sk-caller-a", "k-429", body));
        assertEquals(429, limited.statusCode(), limited.body());
        assertEquals("60", limited.headers().firstValue("retry-after").orElse(null));

        reset();
        HttpResponse<String> retry = client.send(request("sk-caller-a", "k-429", body));
        assertEquals(200, retry.statusCode(), "a replayed 429 would keep the client rate limited: " + retry.body());
    }

    @Test
    void requests_without_the_header_are_untouched() throws Exception {
        HttpRequest plain = client.request("/v1/chat/completions").header("Authorization", "Bearer sk-caller-a")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        client.send(plain);
        client.send(plain);
        assertEquals(2, upstreamCalls());
    }
}
