package org.camelopenaiproxy.route;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.AppendedFile;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Upstream faults scripted in WireMock: retries with backoff and Retry-After, failover, weights,
 * priorities, the circuit breaker, Azure mapping, and the dead-letter channel. Each scenario uses
 * its own model name, served by its own deployments (paths /{deployment}/v1 on one WireMock).
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.upstreams.file={{sys:test.upstreams.file}}",
            "proxy.retry.max-attempts=3", "proxy.retry.initial-delay-ms=50", "proxy.retry.max-delay-ms=2500",
            "proxy.retry.max-total-ms=5000", "proxy.circuit-breaker.window=4", "proxy.circuit-breaker.minimum-calls=4",
            "proxy.circuit-breaker.open-ms=1500",
            "proxy.dead-letter.uri=file:{{sys:test.deadletter.dir}}?fileName=dl.jsonl&fileExist=Append&appendChars=\n"})
class ResilienceTest {

    static final Path DEAD_LETTERS;
    static final ObjectMapper JSON = new ObjectMapper();

    static {
        WireMockServer wm = TestEnv.upstream();
        String base = "http://127.0.0.1:" + wm.port();
        StringBuilder yaml = new StringBuilder("upstreams:\n");
        Object[][] deployments = {
            // name, models, weight, priority
            {"retry", "retry-model", 1, 0},
            {"fo-a", "failover-model", 1, 0}, {"fo-b", "failover-model", 1, 0},
            {"w-a", "weighted-model", 3, 0}, {"w-b", "weighted-model", 1, 0},
            {"p-primary", "priority-model", 1, 0}, {"p-backup", "priority-model", 1, 1},
            {"cb-a", "breaker-model", 1, 0}, {"cb-b", "breaker-model", 1, 1},
            {"doomed", "doomed-model", 1, 0},
        };
        for (Object[] d : deployments) {
            yaml.append("  - name: ").append(d[0]).append("\n    type: openai\n    base_url: ").append(base).append('/')
                    .append(d[0]).append("/v1\n    api_key_env: TEST_KEY_").append(d[0].toString().replace('-', '_'))
                    .append("\n    models: [\"").append(d[1]).append("\"]\n    weight: ").append(d[2])
                    .append("\n    priority: ").append(d[3]).append('\n');
            System.setProperty("TEST_KEY_" + d[0].toString().replace('-', '_'), "sk-up-" + d[0]);
        }
        yaml.append("  - name: azure-eu\n    type: azure\n    base_url: ").append(base).append("/azure\n")
                .append("    api_key_env: TEST_AZURE_KEY\n    api_version: \"2024-10-21\"\n")
                .append("    deployments: { gpt-4o: gpt4o-prod }\n    models: [\"gpt-4o\"]\n");
        System.setProperty("TEST_AZURE_KEY", "azure-secret-key");
        try {
            Path file = Files.createTempFile("upstreams", ".yaml");
            Files.writeString(file, yaml);
            DEAD_LETTERS = Files.createTempDirectory("dead-letter");
            System.setProperty("test.upstreams.file", file.toString());
            System.setProperty("test.deadletter.dir", DEAD_LETTERS.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @org.apache.camel.BeanInject("configWatcher")
    org.camelopenaiproxy.config.ConfigWatcher watcher;

    @BeforeEach
    void reset() throws IOException {
        upstream.resetAll();
        Files.deleteIfExists(DEAD_LETTERS.resolve("dl.jsonl"));
    }

    private void ok(String deployment) {
        upstream.stubFor(post(urlEqualTo("/" + deployment + "/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"served_by\":\"" + deployment + "\"}")));
    }

    private void failing(String deployment, int status) {
        upstream.stubFor(post(urlEqualTo("/" + deployment + "/v1/chat/completions")).willReturn(aResponse()
                .withStatus(status).withHeader("Content-Type", "application/json").withBody("{\"error\":{\"message\":\"boom\"}}")));
    }

    private int calls(String deployment) {
        return upstream.findAll(postRequestedFor(urlPathEqualTo("/" + deployment + "/v1/chat/completions"))).size();
    }

    private HttpResponse<String> chat(String model) throws Exception {
        return client.postJson("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[]}");
    }

    @Test
    void a_429_is_retried_after_the_delay_the_upstream_asked_for() throws Exception {
        upstream.stubFor(post(urlEqualTo("/retry/v1/chat/completions")).inScenario("r").whenScenarioStateIs(Scenario.STARTED)
                .willReturn(aResponse().withStatus(429).withHeader("retry-after-ms", "700").withBody("{}"))
                .willSetStateTo("second"));
        upstream.stubFor(post(urlEqualTo("/retry/v1/chat/completions")).inScenario("r").whenScenarioStateIs("second")
                .willReturn(aResponse().withStatus(429).withHeader("retry-after", "1").withBody("{}"))
                .willSetStateTo("third"));
        upstream.stubFor(post(urlEqualTo("/retry/v1/chat/completions")).inScenario("r").whenScenarioStateIs("third")
                .willReturn(aResponse().withStatus(200).withBody("{\"served_by\":\"retry\"}")));

        long start = System.nanoTime();
        HttpResponse<String> response = chat("retry-model");
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertEquals(200, response.statusCode());
        assertEquals("{\"served_by\":\"retry\"}", response.body());
        assertEquals(3, calls("retry"));
        List<LoggedRequest> seen = upstream.findAll(anyRequestedFor(anyUrl()));
        long gap1 = seen.get(1).getLoggedDate().getTime() - seen.get(0).getLoggedDate().getTime();
        long gap2 = seen.get(2).getLoggedDate().getTime() - seen.get(1).getLoggedDate().getTime();
        assertTrue(gap1 >= 650, "retry-after-ms 700 not honoured: " + gap1 + " ms");
        assertTrue(gap2 >= 950, "Retry-After 1 s not honoured: " + gap2 + " ms");
        assertTrue(tookMs < 4000, "took " + tookMs + " ms");
    }

    @Test
    void a_5xx_fails_over_to_another_deployment() throws Exception {
        failing("fo-a", 500);
        ok("fo-b");
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> r = chat("failover-model");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("{\"served_by\":\"fo-b\"}", r.body());
        }
        assertEquals(12, calls("fo-b"), "every request ends on fo-b, exactly once");
        assertTrue(calls("fo-a") >= 1, "fo-a was never tried: the test proves nothing");
        assertFalse(Files.exists(DEAD_LETTERS.resolve("dl.jsonl")), "recovered requests must not be dead-lettered");
    }

    @Test
    void weights_share_the_traffic() throws Exception {
        ok("w-a");
        ok("w-b");
        int n = 400;
        for (int i = 0; i < n; i++) {
            assertEquals(200, chat("weighted-model").statusCode());
        }
        double shareA = calls("w-a") / (double) n;
        assertEquals(n, calls("w-a") + calls("w-b"));
        assertTrue(shareA > 0.67 && shareA < 0.83, "weight 3:1 gave a share of " + shareA);
    }

    @Test
    void a_lower_priority_deployment_is_used_only_when_the_first_fails() throws Exception {
        ok("p-primary");
        ok("p-backup");
        for (int i = 0; i < 10; i++) {
            assertEquals("{\"served_by\":\"p-primary\"}", chat("priority-model").body());
        }
        assertEquals(0, calls("p-backup"));

        failing("p-primary", 503);
        assertEquals("{\"served_by\":\"p-backup\"}", chat("priority-model").body());
        assertEquals(1, calls("p-backup"));
    }

    @Test
    void the_breaker_opens_after_repeated_failures_and_lets_a_probe_through_later() throws Exception {
        failing("cb-a", 500);
        ok("cb-b");
        for (int i = 0; i < 4; i++) {
            assertEquals(200, chat("breaker-model").statusCode());
        }
        assertEquals(4, calls("cb-a"));

        for (int i = 0; i < 5; i++) {
            assertEquals(200, chat("breaker-model").statusCode());
        }
        assertEquals(4, calls("cb-a"), "an open breaker must keep requests away from cb-a");

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (calls("cb-a") == 4 && System.nanoTime() < deadline) {
            assertEquals(200, chat("breaker-model").statusCode());
            Thread.sleep(100);
        }
        assertEquals(5, calls("cb-a"), "half open: exactly one probe to cb-a");
    }

    @Test
    void azure_gets_its_deployment_url_api_version_and_api_key_header() throws Exception {
        upstream.stubFor(post(urlEqualTo("/azure/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"))
                .willReturn(aResponse().withStatus(200).withBody("{\"served_by\":\"azure\"}")));

        HttpResponse<String> r = chat("gpt-4o");

        assertEquals(200, r.statusCode(), r.body());
        LoggedRequest seen = upstream.findAll(anyRequestedFor(anyUrl())).get(0);
        assertEquals("azure-secret-key", seen.getHeader("api-key"));
        assertFalse(seen.containsHeader("Authorization"));
    }

    @Test
    void requests_failing_after_all_attempts_are_dead_lettered_once_each_and_nothing_else_is() throws Exception {
        failing("doomed", 500);
        ok("w-a");
        ok("w-b");
        upstream.stubFor(post(urlEqualTo("/p-primary/v1/chat/completions")).willReturn(aResponse().withStatus(400)
                .withBody("{\"error\":{\"message\":\"bad\"}}")));

        assertEquals(200, chat("weighted-model").statusCode());
        assertEquals(400, chat("priority-model").statusCode(), "client errors pass through");
        assertEquals(0, calls("p-backup"), "client errors are not retried");
        HttpResponse<String> first = client.send(client.authorized("/v1/chat/completions")
                .header("x-request-id", "req-doomed-1")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"doomed-model\",\"messages\":[1]}")).build());
        HttpResponse<String> second = chat("doomed-model");

        // the client gets the upstream's own last answer (500 and its body), with our request id
        assertEquals(500, first.statusCode(), first.body());
        assertEquals("{\"error\":{\"message\":\"boom\"}}", first.body());
        assertEquals("req-doomed-1", first.headers().firstValue("x-request-id").orElse(null));
        // doomed's breaker may be open by now: the request is still tried (panic mode), never refused by the proxy
        assertEquals(500, second.statusCode(), second.body());
        assertEquals(6, calls("doomed"), "3 attempts each");

        Path file = DEAD_LETTERS.resolve("dl.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> lines = List.of();
        while (System.nanoTime() < deadline) {
            lines = AppendedFile.lines(file);
            if (lines.size() >= 2) {
                break;
            }
            Thread.sleep(50);
        }
        assertEquals(2, lines.size(), "expected exactly the two failed requests: " + lines);
        JsonNode record = JSON.readTree(lines.stream().filter(l -> l.contains("req-doomed-1")).findFirst().orElseThrow());
        assertEquals("req-doomed-1", record.get("request_id").asText());
        assertEquals("test-team", record.get("key").asText());
        assertEquals("/v1/chat/completions", record.get("endpoint").asText());
        assertEquals("doomed-model", record.get("model").asText());
        assertEquals(500, record.get("status").asInt());
        assertEquals("{\"model\":\"doomed-model\",\"messages\":[1]}", record.get("body").asText());
        assertEquals(3, record.get("attempts").size());
        for (JsonNode attempt : record.get("attempts")) {
            assertEquals("doomed", attempt.get("deployment").asText());
            assertEquals(500, attempt.get("status").asInt());
            assertTrue(attempt.get("duration_ms").asLong() >= 0);
        }
        String all = String.join("\n", lines);
        assertFalse(all.contains(TestEnv.CLIENT_KEY) || all.contains("sk-up-doomed"), "a key leaked into a record");
    }

    @Test
    void a_multipart_body_is_sent_again_byte_identical_on_failover() throws Exception {
        // priority-model: p-primary (priority 0) is always tried first, p-backup (priority 1) after it fails
        upstream.stubFor(post(urlEqualTo("/p-primary/v1/audio/transcriptions")).willReturn(aResponse().withStatus(503).withBody("{}")));
        upstream.stubFor(post(urlEqualTo("/p-backup/v1/audio/transcriptions")).willReturn(aResponse().withStatus(200)
                .withBody("{\"text\":\"hi\"}")));
        byte[] audio = new byte[50_000];
        new java.util.Random(5).nextBytes(audio);
        java.io.ByteArrayOutputStream form = new java.io.ByteArrayOutputStream();
        form.write(("--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\npriority-model\r\n--XyZ\r\n"
                + "Content-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        form.write(audio);
        form.write("\r\n--XyZ--\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

        HttpResponse<String> r = client.send(client.authorized("/v1/audio/transcriptions")
                .header("Content-Type", "multipart/form-data; boundary=XyZ")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(form.toByteArray())).build());

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(1, calls("p-primary", "audio/transcriptions"));
        assertEquals(1, calls("p-backup", "audio/transcriptions"));
        for (LoggedRequest seen : upstream.findAll(anyRequestedFor(anyUrl()))) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(form.toByteArray(), seen.getBody(), seen.getUrl());
        }
    }

    @Test
    void editing_upstreams_yaml_applies_without_restart() throws Exception {
        Path file = Path.of(System.getProperty("test.upstreams.file"));
        String original = Files.readString(file);
        try {
            assertOpenAiError(chat("late-model"), 404, "model_not_found");
            Files.writeString(file, original + "  - name: late\n    base_url: http://127.0.0.1:" + upstream.port()
                    + "/late/v1\n    models: [\"late-model\"]\n");
            ok("late");
            watcher.checkNow();
            HttpResponse<String> r = chat("late-model");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("{\"served_by\":\"late\"}", r.body());
        } finally {
            Files.writeString(file, original);
        }
    }

    private int calls(String deployment, String endpoint) {
        return upstream.findAll(postRequestedFor(urlPathEqualTo("/" + deployment + "/v1/" + endpoint))).size();
    }
}
