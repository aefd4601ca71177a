package org.camelopenaiproxy.route;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.AppendedFile;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.upstream.CircuitBreakers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The proxy is never worse than no proxy: breakers only steer, a 429 reaches the client as the
 * upstream's 429, retries stay within their budget, dead letters count exactly the requests whose
 * client got a 5xx. Deployments are paths /{deployment}/v1 on one WireMock; each test its own models.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.upstreams.file={{sys:test.faults.upstreams.file}}",
            "proxy.retry.max-attempts=3", "proxy.retry.initial-delay-ms=20", "proxy.retry.max-delay-ms=2000",
            "proxy.retry.max-total-ms=5000", "proxy.circuit-breaker.window=4", "proxy.circuit-breaker.minimum-calls=4",
            // open far longer than any test: what a test sees is panic mode, not the breaker's own recovery
            "proxy.circuit-breaker.open-ms=60000",
            "proxy.dead-letter.uri=file:{{sys:test.faults.deadletter.dir}}?fileName=dl.jsonl&fileExist=Append&appendChars=\n"})
class UpstreamFaultsTest {

    static final Path DEAD_LETTERS;
    static final ObjectMapper JSON = new ObjectMapper();

    static {
        WireMockServer wm = TestEnv.upstream();
        String base = "http://127.0.0.1:" + wm.port();
        StringBuilder yaml = new StringBuilder("upstreams:\n");
        Object[][] deployments = {
            // name, models, priority
            {"solo", "[\"solo-model\"]", 0},
            {"pair-a", "[\"pair-model\"]", 0}, {"pair-b", "[\"pair-model\"]", 0},
            {"rl", "[\"rl-model\"]", 0},
            {"mm-main", "[\"sick-model\", \"well-model\"]", 0}, {"mm-backup", "[\"sick-model\", \"well-model\"]", 1},
            {"storm", "[\"storm-model\"]", 0},
            {"dl", "[\"dl-model\"]", 0},
        };
        for (Object[] d : deployments) {
            yaml.append("  - name: ").append(d[0]).append("\n    type: openai\n    base_url: ").append(base).append('/')
                    .append(d[0]).append("/v1\n    api_key_env: TEST_FAULTS_KEY\n    models: ").append(d[1])
                    .append("\n    priority: ").append(d[2]).append('\n');
        }
        System.setProperty("TEST_FAULTS_KEY", "sk-up-faults-secret");
        try {
            Path file = Files.createTempFile("upstreams", ".yaml");
            Files.writeString(file, yaml);
            DEAD_LETTERS = Files.createTempDirectory("dead-letter");
            System.setProperty("test.faults.upstreams.file", file.toString());
            System.setProperty("test.faults.deadletter.dir", DEAD_LETTERS.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("circuitBreakers")
    CircuitBreakers breakers;

    @BeforeEach
    void reset() throws IOException {
        upstream.resetAll();
        Files.deleteIfExists(DEAD_LETTERS.resolve("dl.jsonl"));
    }

    private void answer(String deployment, int status, String body) {
        upstream.stubFor(post(urlEqualTo("/" + deployment + "/v1/chat/completions")).willReturn(aResponse()
                .withStatus(status).withHeader("Content-Type", "application/json").withBody(body)));
    }

    private int calls(String deployment) {
        return upstream.findAll(postRequestedFor(urlPathEqualTo("/" + deployment + "/v1/chat/completions"))).size();
    }

    private HttpResponse<String> chat(String model) throws Exception {
        return client.postJson("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[]}");
    }

    private List<String> deadLetters() throws Exception {
        Path file = DEAD_LETTERS.resolve("dl.jsonl");
        return AppendedFile.lines(file);
    }

    @Test
    void a_single_deployment_that_failed_for_a_while_serves_the_very_next_request_after_it_recovers() throws Exception {
        answer("solo", 500, "{\"error\":{\"message\":\"blip\",\"type\":\"server_error\"}}");
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = chat("solo-model");
            assertEquals(500, r.statusCode(), "the upstream's own 500, not a proxy-made 503: " + r.body());
            assertTrue(r.body().contains("blip"), r.body());
        }
        assertEquals(CircuitBreaker.State.OPEN, breakers.forModel("solo", "solo-model").getState(),
                "the breaker is open: what follows is panic mode at work");
        int triedDuringTheBurst = calls("solo");
        assertEquals(18, triedDuringTheBurst, "every request was tried (3 attempts each), none refused by the proxy");

        answer("solo", 200, "{\"ok\":true}");
        long recovered = System.nanoTime();
        HttpResponse<String> next = chat("solo-model");
        assertEquals(200, next.statusCode(), next.body());
        for (int i = 0; i < 10; i++) {
            assertEquals(200, chat("solo-model").statusCode(), "full traffic at once");
        }
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - recovered) < 2000);
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forModel("solo", "solo-model").getState());
    }

    @Test
    void when_every_deployment_is_open_the_request_is_still_tried() throws Exception {
        answer("pair-a", 503, "{\"error\":{\"message\":\"down\"}}");
        answer("pair-b", 503, "{\"error\":{\"message\":\"down\"}}");
        for (int i = 0; i < 6; i++) {
            assertEquals(503, chat("pair-model").statusCode());
        }
        assertEquals(CircuitBreaker.State.OPEN, breakers.forModel("pair-a", "pair-model").getState());
        assertEquals(CircuitBreaker.State.OPEN, breakers.forModel("pair-b", "pair-model").getState());
        int before = calls("pair-a") + calls("pair-b");

        answer("pair-b", 200, "{\"served_by\":\"pair-b\"}");
        HttpResponse<String> r = chat("pair-model");

        assertTrue(calls("pair-a") + calls("pair-b") > before, "the request reached an upstream");
        assertEquals(200, r.statusCode(), "pair-a (tried first or not) failed over to pair-b: " + r.body());
        assertEquals("{\"served_by\":\"pair-b\"}", r.body());
    }

    @Test
    void a_persistent_429_reaches_the_client_as_the_upstreams_429_with_its_body_and_headers() throws Exception {
        upstream.stubFor(post(urlEqualTo("/rl/v1/chat/completions")).willReturn(aResponse().withStatus(429)
                .withHeader("Content-Type", "application/json")
                .withHeader("retry-after", "20").withHeader("retry-after-ms", "20000")
                .withHeader("x-ratelimit-remaining-requests", "0").withHeader("x-ratelimit-reset-requests", "20s")
                .withHeader("x-request-id", "req_upstream_429")
                .withBody("{\"error\":{\"message\":\"You exceeded your current quota (key sk-up-faults-secret).\","
                        + "\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}")));

        HttpResponse<String> r = chat("rl-model");

        // what the official SDKs turn into RateLimitError, with the wait they then honour
        assertEquals(429, r.statusCode(), r.body());
        assertEquals("20", r.headers().firstValue("retry-after").orElse(null));
        assertEquals("20000", r.headers().firstValue("retry-after-ms").orElse(null));
        assertEquals("0", r.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
        assertEquals("20s", r.headers().firstValue("x-ratelimit-reset-requests").orElse(null));
        assertEquals("req_upstream_429", r.headers().firstValue("x-upstream-request-id").orElse(null));
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertEquals("insufficient_quota", error.get("code").asText(), "quota vs rate limit stays visible");
        assertEquals("insufficient_quota", error.get("type").asText());
        assertFalse(r.body().contains("sk-up-faults-secret"), "the upstream key is masked as today: " + r.body());
        assertEquals(1, calls("rl"), "Retry-After 20 s is over the retry cap: no other attempt");
    }

    @Test
    void many_429s_do_not_open_a_breaker_and_the_next_request_after_the_wait_is_served() throws Exception {
        upstream.stubFor(post(urlEqualTo("/rl/v1/chat/completions")).willReturn(aResponse().withStatus(429)
                .withHeader("retry-after-ms", "20").withBody("{\"error\":{\"message\":\"slow down\",\"code\":\"rate_limit_exceeded\"}}")));
        for (int i = 0; i < 8; i++) {
            assertEquals(429, chat("rl-model").statusCode());
        }
        assertEquals(24, calls("rl"), "each request tried 3 times, 20 ms apart as asked");
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forModel("rl", "rl-model").getState());
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forDeployment("rl").getState());

        answer("rl", 200, "{\"ok\":true}");
        assertEquals(200, chat("rl-model").statusCode());
    }

    @Test
    void one_models_500s_do_not_stop_another_model_on_the_same_deployment() throws Exception {
        upstream.stubFor(post(urlEqualTo("/mm-main/v1/chat/completions")).withRequestBody(
                com.github.tomakehurst.wiremock.client.WireMock.containing("sick-model")).willReturn(aResponse().withStatus(500)
                .withBody("{\"error\":{\"message\":\"model overloaded\"}}")));
        upstream.stubFor(post(urlEqualTo("/mm-main/v1/chat/completions")).withRequestBody(
                com.github.tomakehurst.wiremock.client.WireMock.containing("well-model")).willReturn(aResponse().withStatus(200)
                .withBody("{\"served_by\":\"mm-main\"}")));
        answer("mm-backup", 200, "{\"served_by\":\"mm-backup\"}");

        for (int i = 0; i < 6; i++) {
            HttpResponse<String> sick = chat("sick-model");
            assertEquals("{\"served_by\":\"mm-backup\"}", sick.body(), "the sick model fails over to the backup");
        }
        assertEquals(CircuitBreaker.State.OPEN, breakers.forModel("mm-main", "sick-model").getState());
        for (int i = 0; i < 5; i++) {
            assertEquals("{\"served_by\":\"mm-main\"}", chat("well-model").body(),
                    "the other model still goes to its first-priority deployment");
        }
    }

    @Test
    void a_burst_against_a_failing_upstream_stays_within_the_retry_budget() throws Exception {
        upstream.stubFor(post(urlEqualTo("/storm/v1/chat/completions")).willReturn(aResponse().withStatus(500)
                .withFixedDelay(400).withBody("{\"error\":{\"message\":\"down\"}}")));
        int n = 40;
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(client.http().sendAsync(client.authorized("/v1/chat/completions")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"storm-model\",\"messages\":[]}")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : all) {
            assertEquals(500, f.get(30, TimeUnit.SECONDS).statusCode(), "each client gets the upstream's answer");
        }
        // without a budget: 3 attempts each, 120 calls. With 20 % of 40 in flight (8) retried after the first
        // wave, then at most the floor of 3 when fewer requests are left: 40 + 8 + 8 at the very most
        int upstreamCalls = calls("storm");
        assertTrue(upstreamCalls >= n, "every request was tried: " + upstreamCalls);
        assertTrue(upstreamCalls <= n + 16, "retries multiplied the failing upstream's load: " + upstreamCalls + " calls");
    }

    @Test
    void dead_letters_count_exactly_the_requests_whose_client_got_a_5xx() throws Exception {
        upstream.stubFor(post(urlEqualTo("/dl/v1/chat/completions")).inScenario("dl")
                .whenScenarioStateIs(com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED)
                .willReturn(aResponse().withStatus(502).withBody("{}")).willSetStateTo("ok"));
        upstream.stubFor(post(urlEqualTo("/dl/v1/chat/completions")).inScenario("dl").whenScenarioStateIs("ok")
                .willReturn(aResponse().withStatus(200).withBody("{\"ok\":true}")));
        assertEquals(200, chat("dl-model", "dl-recovered").statusCode(), "a 502 then a 200: recovered by a retry");
        answer("dl", 429, "{\"error\":{\"message\":\"slow\"}}");
        assertEquals(429, chat("dl-model", "dl-429").statusCode());
        answer("dl", 500, "{\"error\":{\"message\":\"boom\"}}");
        assertEquals(500, chat("dl-model", "dl-500-first").statusCode());
        answer("dl", 200, "{\"ok\":true}");
        assertEquals(200, chat("dl-model", "dl-ok").statusCode());
        answer("dl", 500, "{\"error\":{\"message\":\"boom\"}}");
        assertEquals(500, chat("dl-model", "dl-500-last").statusCode());

        // the sink writes in order: once the last request's record is there, every earlier one would be too
        List<String> lines = Await.until(10, "the last 500's record", () -> {
            List<String> now = deadLetters();
            return now.stream().anyMatch(l -> l.contains("dl-500-last")) ? now : null;
        });
        assertEquals(2, lines.size(), "one record per 500 answered, none for the 200s or the 429: " + lines);
        assertTrue(lines.get(0).contains("dl-500-first"), lines.get(0));
        for (String line : lines) {
            assertEquals(500, JSON.readTree(line).get("status").asInt());
        }
    }

    private HttpResponse<String> chat(String model, String requestId) throws Exception {
        return client.send(client.authorized("/v1/chat/completions").header("x-request-id", requestId)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"messages\":[]}"))
                .build());
    }
}
