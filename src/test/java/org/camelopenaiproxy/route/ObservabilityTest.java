package org.camelopenaiproxy.route;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import com.sun.net.httpserver.HttpServer;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.support.AppendedFile;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.Metrics;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What operators see: token usage (plain and streamed, with and without the client asking for
 * include_usage, the client's stream unchanged), Prometheus metrics after a known sequence of
 * requests, the access-log line and its diagnostic mode, request ids end to end, and usage/audit
 * events delivered to a webhook sink that may be slow.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.keys.file={{sys:test.obs.keys}}", "proxy.upstreams.file={{sys:test.obs.upstreams}}",
            "proxy.access-log.uri=stream:file?fileName={{sys:test.obs.access}}",
            "proxy.audit.uri=http://127.0.0.1:{{sys:test.obs.audit.port}}/audit",
            "proxy.diagnostics.file={{sys:test.obs.diagnostics}}",
            "proxy.dead-letter.uri=file:{{sys:test.obs.dir}}?fileName=dl.jsonl&fileExist=Append&appendChars=\n",
            "proxy.retry.max-attempts=2", "proxy.retry.initial-delay-ms=20", "proxy.retry.max-delay-ms=100"})
class ObservabilityTest {

    static final String LIMITED_KEY = "sk-proxy-test-limited-0003";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpServer AUDIT_SINK;
    static final List<String> AUDIT_EVENTS = new CopyOnWriteArrayList<>();
    static final List<String> AUDIT_KEY_HEADERS = new CopyOnWriteArrayList<>();
    static final AtomicReference<CountDownLatch> AUDIT_GATE = new AtomicReference<>(new CountDownLatch(0));

    static {
        try {
            AUDIT_SINK = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AUDIT_SINK.createContext("/audit", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            try {
                AUDIT_GATE.get().await(60, TimeUnit.SECONDS); // a sink that is slow until the test says so
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            AUDIT_KEY_HEADERS.add(String.valueOf(exchange.getRequestHeaders().getFirst("proxyKey")));
            AUDIT_EVENTS.add(body);
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        AUDIT_SINK.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        AUDIT_SINK.start();
    }

    static final TestSetup SETUP = TestSetup.named("obs")
            .keys("keys:\n"
                    + "  - name: test-team\n    key_sha256: {{hash:" + TestEnv.CLIENT_KEY + "}}\n"
                    + "  - name: limited\n    key_sha256: {{hash:" + LIMITED_KEY + "}}\n"
                    + "    limits: { requests_per_minute: 1 }\n")
            .upstreams("upstreams:\n"
                    + "  - name: primary\n    type: openai\n    base_url: {{wiremock}}/v1\n"
                    + "    api_key_env: TEST_OBS_KEY\n    models: [\"gpt-*\", \"made-up-*\"]\n"
                    + "  - name: fo-a\n    type: openai\n    base_url: {{wiremock}}/fo-a/v1\n"
                    + "    api_key_env: TEST_OBS_KEY\n    models: [\"fo-model\"]\n    priority: 0\n"
                    + "  - name: fo-b\n    type: openai\n    base_url: {{wiremock}}/fo-b/v1\n"
                    + "    api_key_env: TEST_OBS_KEY\n    models: [\"fo-model\"]\n    priority: 1\n")
            .secret("TEST_OBS_KEY", TestEnv.UPSTREAM_KEY)
            .exposeDir()
            .expose("access", "access.jsonl")
            .expose("diagnostics", "diagnostics.yaml")
            .value("audit.port", Integer.toString(AUDIT_SINK.getAddress().getPort()));
    static final Path DIR = SETUP.dir();
    static final Path ACCESS_LOG = SETUP.path("access.jsonl");
    static final Path DIAGNOSTICS = SETUP.path("diagnostics.yaml");

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("configWatcher")
    ConfigWatcher watcher;

    @AfterAll
    static void stopSink() {
        AUDIT_GATE.get().countDown();
        AUDIT_SINK.stop(0);
    }

    @BeforeEach
    void reset() throws IOException {
        upstream.resetAll();
        AUDIT_GATE.set(new CountDownLatch(0));
        AUDIT_EVENTS.clear();
        AUDIT_KEY_HEADERS.clear();
        Files.deleteIfExists(DIAGNOSTICS);
        watcher.checkNow();
    }

    // ---- upstream answers -------------------------------------------------------------------

    static String chatJson(long in, long out) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
                + "{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":" + in + ",\"completion_tokens\":" + out + ",\"total_tokens\":" + (in + out) + "}}";
    }

    void chatAnswers(String model, long in, long out) {
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).withRequestBody(matchingJsonPath("$.model", equalTo(model)))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withHeader("x-request-id", "req_upstream_1").withBody(chatJson(in, out))));
    }

    static final List<String> CHUNKS = List.of(
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}",
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}]}",
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
    static final String USAGE_CHUNK = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
            + "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}";

    /** The stream as OpenAI sends it without include_usage. */
    static String plainStream() {
        StringBuilder sse = new StringBuilder();
        CHUNKS.forEach(c -> sse.append("data: ").append(c).append("\n\n"));
        return sse.append("data: [DONE]\n\n").toString();
    }

    /** The stream as OpenAI sends it with include_usage: "usage":null on each chunk, then the usage chunk. */
    static String usageStream() {
        StringBuilder sse = new StringBuilder();
        CHUNKS.forEach(c -> sse.append("data: ").append(c, 0, c.length() - 1).append(",\"usage\":null}\n\n"));
        return sse.append("data: ").append(USAGE_CHUNK).append("\n\ndata: [DONE]\n\n").toString();
    }

    /** An upstream that streams with usage exactly when include_usage is asked for, as OpenAI does. */
    void streamAnswers(int dribbleChunks, int dribbleMillis) {
        var withUsage = aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(usageStream());
        var without = aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(plainStream());
        if (dribbleChunks > 0) {
            withUsage.withChunkedDribbleDelay(dribbleChunks, dribbleMillis);
            without.withChunkedDribbleDelay(dribbleChunks, dribbleMillis);
        }
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).atPriority(1)
                .withRequestBody(matchingJsonPath("$.stream_options.include_usage", equalTo("true"))).willReturn(withUsage));
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).atPriority(2)
                .withRequestBody(matchingJsonPath("$.stream", equalTo("true"))).willReturn(without));
    }

    // ---- helpers ----------------------------------------------------------------------------

    HttpResponse<String> chat(String key, String body, String... headers) throws Exception {
        HttpRequest.Builder request = client.request("/v1/chat/completions").header("Content-Type", "application/json");
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return client.send(request.POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** The access-log line of a request, once the log has it. */
    static JsonNode accessLine(String requestId) throws Exception {
        return Await.until(10, "access-log line of " + requestId, () -> {
            if (!Files.exists(ACCESS_LOG)) {
                return null;
            }
            for (String line : AppendedFile.lines(ACCESS_LOG)) {
                JsonNode node = JSON.readTree(line);
                if (requestId.equals(node.path("request_id").asText())) {
                    return node;
                }
            }
            return null;
        });
    }

    static String requestId(HttpResponse<?> response) {
        return response.headers().firstValue("x-request-id").orElseThrow();
    }

    static void assertNoSecrets(String where, String text) {
        assertFalse(text.contains(TestEnv.CLIENT_KEY), "client key in " + where);
        assertFalse(text.contains(LIMITED_KEY), "client key in " + where);
        assertFalse(text.contains(TestEnv.UPSTREAM_KEY), "upstream key in " + where);
    }

    // ---- token usage ------------------------------------------------------------------------

    @Test
    void plain_answer_usage_lands_in_the_access_log_line_with_every_field() throws Exception {
        chatAnswers("gpt-4o-mini", 11, 7);
        HttpResponse<String> response = chat(TestEnv.CLIENT_KEY, "{\"model\":\"gpt-4o-mini\",\"messages\":[]}",
                "x-request-id", "trace-abc-1");
        assertEquals(200, response.statusCode());
        assertEquals("trace-abc-1", requestId(response));
        assertEquals("req_upstream_1", response.headers().firstValue("x-upstream-request-id").orElse(null));
        LoggedRequest seen = upstream.findAll(postRequestedFor(urlPathEqualTo("/v1/chat/completions"))).get(0);
        assertEquals("trace-abc-1", seen.getHeader("x-request-id"), "the request id goes upstream");

        JsonNode line = accessLine("trace-abc-1");
        assertEquals("req_upstream_1", line.path("upstream_request_id").asText());
        assertEquals("test-team", line.path("key").asText());
        assertEquals("POST", line.path("method").asText());
        assertEquals("/v1/chat/completions", line.path("endpoint").asText());
        assertEquals("gpt-4o-mini", line.path("model").asText());
        assertEquals(200, line.path("status").asInt());
        assertEquals("completed", line.path("outcome").asText());
        assertEquals(11, line.path("tokens_in").asLong());
        assertEquals(7, line.path("tokens_out").asLong());
        assertEquals("primary", line.path("deployment").asText());
        assertEquals(1, line.path("attempts").asInt());
        assertEquals("BYPASS", line.path("cache").asText());
        assertFalse(line.path("stream").asBoolean());
        assertTrue(line.path("latency_ms").asDouble() > 0);
        assertTrue(line.path("ttft_ms").asDouble() > 0 && line.path("ttft_ms").asDouble() <= line.path("latency_ms").asDouble());
        assertTrue(line.path("time").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"));
        assertFalse(line.has("request_body") || line.has("response_body"), "no bodies outside diagnostic mode");
        assertNoSecrets("the access log", Files.readString(ACCESS_LOG));
    }

    @Test
    void a_stream_without_include_usage_is_counted_and_the_client_gets_exactly_the_plain_stream() throws Exception {
        streamAnswers(12, 1200);
        String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        long start = System.nanoTime();
        HttpResponse<InputStream> response = client.http().send(client.authorized("/v1/chat/completions")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        List<Long> arrivals = new ArrayList<>();
        StringBuilder received = new StringBuilder();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                received.append(line).append('\n');
                if (line.startsWith("data:")) {
                    arrivals.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                }
            }
        }
        assertEquals(plainStream(), received.toString(), "the client's stream is what it would have been");
        assertTrue(arrivals.get(arrivals.size() - 1) - arrivals.get(0) > 500, "events held back: " + arrivals);

        LoggedRequest seen = upstream.findAll(postRequestedFor(urlPathEqualTo("/v1/chat/completions"))).get(0);
        assertEquals(body.substring(0, body.length() - 1) + ",\"stream_options\":{\"include_usage\":true}}",
                seen.getBodyAsString(), "only include_usage is added to the request");

        JsonNode line = accessLine(requestId(response));
        assertEquals(9, line.path("tokens_in").asLong());
        assertEquals(3, line.path("tokens_out").asLong());
        assertTrue(line.path("stream").asBoolean());
        assertTrue(line.path("ttft_ms").asDouble() < line.path("latency_ms").asDouble());
    }

    @Test
    void a_stream_whose_client_asked_for_usage_passes_untouched_and_is_counted() throws Exception {
        streamAnswers(0, 0);
        String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}";
        HttpResponse<String> response = chat(TestEnv.CLIENT_KEY, body);
        assertEquals(usageStream(), response.body());
        assertEquals(body, upstream.findAll(postRequestedFor(urlPathEqualTo("/v1/chat/completions"))).get(0).getBodyAsString());
        JsonNode line = accessLine(requestId(response));
        assertEquals(9, line.path("tokens_in").asLong());
        assertEquals(3, line.path("tokens_out").asLong());
    }

    @Test
    void usage_in_a_final_chunk_that_has_choices_is_read_and_taken_out() throws Exception {
        String last = "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}]";
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream")
                .withBody("data: " + last + ",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n"
                        + "data: [DONE]\n\n")));
        HttpResponse<String> response = chat(TestEnv.CLIENT_KEY, "{\"model\":\"gpt-4o-mini\",\"stream\":true}");
        assertEquals("data: " + last + "}\n\ndata: [DONE]\n\n", response.body());
        JsonNode line = accessLine(requestId(response));
        assertEquals(5, line.path("tokens_in").asLong());
        assertEquals(1, line.path("tokens_out").asLong());
    }

    // ---- metrics ----------------------------------------------------------------------------

    @Test
    void metrics_after_a_known_sequence_of_requests() throws Exception {
        chatAnswers("gpt-4o-mini", 11, 7);
        streamAnswers(0, 0);
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).atPriority(1)
                .withRequestBody(matchingJsonPath("$.model", equalTo("made-up-model-xyz")))
                .willReturn(aResponse().withStatus(404).withHeader("Content-Type", "application/json")
                        .withBody("{\"error\":{\"message\":\"The model does not exist\",\"code\":\"model_not_found\"}}")));
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";

        assertEquals(200, chat(TestEnv.CLIENT_KEY, chat).statusCode());
        assertEquals(200, chat(TestEnv.CLIENT_KEY, chat).statusCode());
        assertEquals(200, chat(TestEnv.CLIENT_KEY, "{\"model\":\"gpt-4o-mini\",\"stream\":true}").statusCode());
        assertEquals(401, chat(null, chat).statusCode());
        assertEquals(404, chat(TestEnv.CLIENT_KEY, "{\"model\":\"made-up-model-xyz\"}").statusCode());
        assertEquals(200, chat(LIMITED_KEY, chat).statusCode());
        assertEquals(429, chat(LIMITED_KEY, chat).statusCode());

        Metrics m = Metrics.scrape(client);
        String ep = "/v1/chat/completions";
        assertEquals(3, m.value("proxy_requests_total", "endpoint", ep, "key", "test-team", "model", "gpt-4o-mini", "status", "200"));
        assertEquals(1, m.value("proxy_requests_total", "endpoint", ep, "key", "none", "model", "none", "status", "401"));
        assertEquals(1, m.value("proxy_requests_total", "key", "test-team", "model", "other", "status", "404"),
                "a model no upstream served is folded into 'other'");
        assertEquals(1, m.value("proxy_requests_total", "key", "limited", "status", "200"));
        assertEquals(1, m.value("proxy_requests_total", "key", "limited", "status", "429"));
        assertEquals(7, m.value("proxy_requests_total"));
        assertEquals(11 + 11 + 9, m.value("proxy_tokens_total", "key", "test-team", "model", "gpt-4o-mini", "type", "input"));
        assertEquals(7 + 7 + 3, m.value("proxy_tokens_total", "key", "test-team", "model", "gpt-4o-mini", "type", "output"));
        assertEquals(4, m.value("proxy_upstream_latency_seconds_count", "deployment", "primary", "result", "2xx"));
        assertEquals(1, m.value("proxy_upstream_latency_seconds_count", "deployment", "primary", "result", "4xx"));
        assertEquals(1, m.value("proxy_time_to_first_token_seconds_count", "endpoint", ep, "model", "gpt-4o-mini"));
        assertEquals(7, m.value("proxy_added_latency_seconds_count", "endpoint", ep));
        assertEquals(7, m.value("proxy_request_duration_seconds_count", "endpoint", ep));
        assertEquals(4, m.value("proxy_upstream_latency_seconds_bucket", "deployment", "primary", "result", "2xx", "le", "+Inf"));
        assertEquals(1, m.value("proxy_throttled_total", "key", "limited", "reason", "requests"));
        assertEquals(7, m.value("proxy_cache_requests_total", "result", "bypass"));
        assertEquals(0, m.value("proxy_requests_in_flight"));
        assertTrue(m.text().contains("resilience4j_circuitbreaker_state{"), "circuit breaker metrics");
        // bound on a thread of their own once the listener opened (JvmMetrics), not on the launch's path
        Await.that(10, "JVM metrics", () -> Metrics.scrape(client).text().contains("jvm_memory_used_bytes{"));
        assertFalse(m.text().contains("made-up-model-xyz"), "unbounded label value");
        assertNoSecrets("the metrics", m.text());
    }

    @Test
    void retries_failovers_and_dead_letters_are_counted() throws Exception {
        upstream.stubFor(post(urlPathEqualTo("/fo-a/v1/chat/completions")).willReturn(aResponse().withStatus(500)));
        upstream.stubFor(post(urlPathEqualTo("/fo-b/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody(chatJson(1, 1))));
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).withRequestBody(containing("gpt-doomed"))
                .willReturn(aResponse().withStatus(503).withBody("{\"error\":\"overloaded\"}")));

        HttpResponse<String> failedOver = chat(TestEnv.CLIENT_KEY, "{\"model\":\"fo-model\"}");
        assertEquals(200, failedOver.statusCode());
        HttpResponse<String> doomed = chat(TestEnv.CLIENT_KEY, "{\"model\":\"gpt-doomed\"}");
        assertEquals(503, doomed.statusCode());

        Metrics m = Metrics.scrape(client);
        assertEquals(2, m.value("proxy_upstream_retries_total", "endpoint", "/v1/chat/completions"));
        assertEquals(1, m.value("proxy_upstream_failovers_total", "deployment", "fo-b"));
        assertEquals(1, m.value("proxy_dead_letters_total", "endpoint", "/v1/chat/completions"));
        assertEquals(1, m.value("proxy_upstream_latency_seconds_count", "deployment", "fo-a", "result", "5xx"));
        assertEquals(2, m.value("proxy_upstream_latency_seconds_count", "deployment", "primary", "result", "5xx"));

        // the client got the upstream's own answer; the request id is in its header, access-log line and dead-letter record
        String id = requestId(doomed);
        assertEquals("{\"error\":\"overloaded\"}", doomed.body());
        JsonNode line = accessLine(id);
        assertEquals(503, line.path("status").asInt());
        assertEquals(2, line.path("attempts").asInt());
        String record = Await.until(10, "dead-letter record", () -> {
            Path dl = DIR.resolve("dl.jsonl");
            return AppendedFile.lines(dl).stream().filter(l -> l.contains(id)).findFirst().orElse(null);
        });
        assertTrue(record.contains("\"request_id\":\"" + id + "\""));
        assertTrue(record.contains("\"upstream_error\":\"{\\\"error\\\":\\\"overloaded\\\"}\""), record);
    }

    @Test
    void in_flight_returns_to_zero_when_a_streaming_client_leaves() throws Exception {
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(plainStream().repeat(20))
                .withChunkedDribbleDelay(200, 20000)));
        HttpResponse<InputStream> response = client.http().send(client.authorized("/v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertTrue(response.body().read(new byte[8]) > 0);
        assertEquals(1, Metrics.scrape(client).value("proxy_requests_in_flight"));

        response.body().close(); // the client goes away mid-stream
        Await.until(10, "in-flight back to 0", () -> Metrics.scrape(client).value("proxy_requests_in_flight") == 0 ? true : null);
        JsonNode line = accessLine(requestId(response));
        assertEquals("client_closed", line.path("outcome").asText());
    }

    // ---- diagnostic mode --------------------------------------------------------------------

    @Test
    void diagnostic_mode_logs_redacted_bodies_and_switches_without_a_restart() throws Exception {
        upstream.stubFor(post(urlPathEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(401)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"error\":{\"message\":\"Incorrect API key provided: " + TestEnv.UPSTREAM_KEY + ".\"}}")));
        String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"my key is "
                + TestEnv.CLIENT_KEY + " and my ssn-4242\"}]}";

        JsonNode before = accessLine(requestId(chat(TestEnv.CLIENT_KEY, body)));
        assertFalse(before.has("request_body"), "diagnostic mode is off until the file says otherwise");

        Files.writeString(DIAGNOSTICS, "log_bodies: true\nmax_body_bytes: 4096\nredact: ['ssn-[0-9]+']\n");
        watcher.checkNow();
        JsonNode on = accessLine(requestId(chat(TestEnv.CLIENT_KEY, body)));
        String requestBody = on.path("request_body").asText();
        String responseBody = on.path("response_body").asText();
        assertTrue(requestBody.contains("\"role\":\"user\"") && requestBody.contains("[REDACTED]"), requestBody);
        assertFalse(requestBody.contains("ssn-4242"), "configured pattern not redacted: " + requestBody);
        assertTrue(responseBody.contains("Incorrect API key provided: [REDACTED]"), responseBody);
        assertNoSecrets("the diagnostic access log", Files.readString(ACCESS_LOG));

        Files.writeString(DIAGNOSTICS, "log_bodies: false\n");
        watcher.checkNow();
        JsonNode off = accessLine(requestId(chat(TestEnv.CLIENT_KEY, body)));
        assertFalse(off.has("request_body"));
    }

    // ---- request ids ------------------------------------------------------------------------

    @Test
    void a_generated_request_id_is_sent_upstream_returned_and_in_errors() throws Exception {
        chatAnswers("gpt-4o-mini", 1, 1);
        HttpResponse<String> ok = chat(TestEnv.CLIENT_KEY, "{\"model\":\"gpt-4o-mini\"}");
        String id = requestId(ok);
        assertTrue(id.matches("req_[0-9a-f]{24}"), id);
        assertEquals(id, upstream.findAll(postRequestedFor(urlPathEqualTo("/v1/chat/completions"))).get(0).getHeader("x-request-id"));
        assertEquals(id, accessLine(id).path("request_id").asText());

        HttpResponse<String> refused = chat("sk-wrong-key-123456", "{}", "x-request-id", "bad id with spaces");
        String refusedId = requestId(refused);
        assertTrue(refusedId.startsWith("req_"), "an unusable client id is replaced: " + refusedId);
        assertTrue(refused.body().contains("(request id: " + refusedId + ")"), refused.body());
        assertEquals("invalid_api_key", accessLine(refusedId).path("error").asText());
    }

    // ---- audit events -----------------------------------------------------------------------

    @Test
    void an_audit_event_reaches_the_webhook_sink_for_every_request() throws Exception {
        chatAnswers("gpt-4o-mini", 4, 2);
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            ids.add(requestId(chat(TestEnv.CLIENT_KEY, "{\"model\":\"gpt-4o-mini\"}")));
        }
        ids.add(requestId(chat(null, "{}")));
        Await.until(10, "6 audit events", () -> AUDIT_EVENTS.size() >= 6 ? true : null);
        Set<String> delivered = new HashSet<>();
        for (String event : AUDIT_EVENTS) {
            JsonNode node = JSON.readTree(event);
            delivered.add(node.path("request_id").asText());
            if (node.path("status").asInt() == 200) {
                assertEquals(4, node.path("tokens_in").asLong());
                assertEquals("test-team", node.path("key").asText());
            }
            assertNoSecrets("an audit event", event);
        }
        assertEquals(ids, delivered);
        assertEquals(5, AUDIT_KEY_HEADERS.stream().filter("test-team"::equals).count(), "proxyKey header: " + AUDIT_KEY_HEADERS);
    }

    @Test
    void a_slow_audit_sink_never_delays_the_answers() throws Exception {
        chatAnswers("gpt-4o-mini", 1, 1);
        CountDownLatch gate = new CountDownLatch(1);
        AUDIT_GATE.set(gate); // the sink takes each event but does not answer until released
        try {
            for (int i = 0; i < 8; i++) {
                assertEquals(200, chat(TestEnv.CLIENT_KEY, "{\"model\":\"gpt-4o-mini\"}").statusCode());
            }
            assertEquals(0, AUDIT_EVENTS.size(), "all 8 answers came while the sink was still stuck on the first event");
        } finally {
            gate.countDown();
        }
        Await.until(10, "8 audit events after the sink recovered", () -> AUDIT_EVENTS.size() >= 8 ? true : null);
        assertEquals(8, AUDIT_EVENTS.size());
    }

}
