package org.camelopenaiproxy.route;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.AppendedFile;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.camelopenaiproxy.support.WebSocketUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Upstream error answers that echo a key (the upstream's, in full or partly masked as OpenAI's 401
 * does, or the client's {@code Authorization}) reach the client masked, with a correct
 * {@code Content-Length}, on every path: relayed 4xx/5xx, the WebSocket refusal, dead-letter
 * records. 2xx answers and streams pass byte for byte.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.keys.file={{sys:test.redact.keys}}", "proxy.upstreams.file={{sys:test.redact.upstreams}}",
            "proxy.dead-letter.uri=file:{{sys:test.redact.dir}}?fileName=dl.jsonl&fileExist=Append&appendChars=\n",
            "proxy.access-log.uri=stream:file?fileName={{sys:test.redact.dir}}/access.jsonl",
            "proxy.cache.enabled=false",
            "proxy.retry.max-attempts=2", "proxy.retry.initial-delay-ms=10", "proxy.retry.max-delay-ms=50"})
class SecretRedactionTest {

    static final String KEY = TestEnv.UPSTREAM_KEY;                   // sk-upstream-test-secret-9f8e7d
    static final String OTHER_KEY = "other-deployment-secret-5c4b3a"; // no sk- prefix: only the exact match masks it
    static final String CLIENT_KEY = TestEnv.CLIENT_KEY;
    static final ObjectMapper JSON = new ObjectMapper();
    static final WebSocketUpstream WS_UPSTREAM;
    static final Vertx CLIENT_VERTX = Vertx.vertx();
    static final WebSocketClient WS_CLIENT = CLIENT_VERTX.createWebSocketClient();

    static {
        try {
            WS_UPSTREAM = new WebSocketUpstream();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static final Path DIR = TestSetup.named("redact")
            .keys("keys:\n  - name: test-team\n    key_sha256: {{hash:" + CLIENT_KEY + "}}\n")
            .upstreams("upstreams:\n"
                    + "  - name: primary\n    type: openai\n    base_url: {{wiremock}}/v1\n"
                    + "    api_key_env: TEST_REDACT_KEY\n    models: [\"gpt-*\"]\n"
                    + "  - name: other\n    type: openai-compatible\n    base_url: {{wiremock}}/other/v1\n"
                    + "    api_key_env: TEST_REDACT_OTHER_KEY\n    models: [\"local-*\"]\n"
                    + "  - name: realtime\n    type: openai\n    base_url: " + WS_UPSTREAM.baseUrl() + "\n"
                    + "    api_key_env: TEST_REDACT_KEY\n    models: [\"rt-*\"]\n")
            .secret("TEST_REDACT_KEY", KEY)
            .secret("TEST_REDACT_OTHER_KEY", OTHER_KEY)
            .exposeDir()
            .dir();

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @AfterAll
    static void stop() throws Exception {
        WS_UPSTREAM.close();
        CLIENT_VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void reset() {
        upstream.resetAll();
        WS_UPSTREAM.reset();
    }

    private void upstreamAnswers(int status, String contentType, String body) {
        upstream.stubFor(post(urlPathMatching(".*/v1/chat/completions")).willReturn(aResponse().withStatus(status)
                .withHeader("Content-Type", contentType).withBody(body)));
    }

    private HttpResponse<String> chat(String model) throws Exception {
        return client.postJson("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[]}");
    }

    private static String openAiError(String message) {
        return "{\"error\":{\"message\":\"" + message + "\",\"type\":\"invalid_request_error\",\"param\":null,"
               + "\"code\":\"invalid_api_key\"}}";
    }

    /** Nothing of a secret in the answer: status line, headers, body; and a Content-Length that fits the body. */
    private static void assertClean(HttpResponse<String> response) {
        String all = response.statusCode() + " " + response.headers().map() + "\n" + response.body();
        for (String secret : List.of(KEY, OTHER_KEY, CLIENT_KEY, "sk-upstr", "sk-proxy", "other-deployment-secret")) {
            assertFalse(all.contains(secret), () -> "'" + secret + "' leaked: " + all);
        }
        response.headers().firstValue("content-length").ifPresent(length -> assertEquals(
                response.body().getBytes(StandardCharsets.UTF_8).length, Integer.parseInt(length), "Content-Length"));
    }

    @Test
    void a_401_echoing_the_full_upstream_key_is_masked() throws Exception {
        upstreamAnswers(401, "application/json", openAiError("Incorrect API key provided: " + KEY
                + ". You can find your API key at https://platform.openai.com/account/api-keys."));

        HttpResponse<String> response = chat("gpt-4o");

        assertClean(response);
        JsonNode error = assertOpenAiError(response, 401, "invalid_api_key");
        assertEquals("Incorrect API key provided: [REDACTED]. You can find your API key at "
                     + "https://platform.openai.com/account/api-keys.", error.path("message").asText());
        assertTrue(response.headers().firstValue("content-length").isPresent(), "a masked body has its own length");
        assertTrue(response.headers().firstValue("x-request-id").isPresent());
    }

    @Test
    void a_401_echoing_a_partly_masked_key_is_masked() throws Exception {
        upstreamAnswers(401, "application/json", openAiError("Incorrect API key provided: sk-upstr*****9f8e. "
                + "Or was it sk-ups...f8e7d?"));

        HttpResponse<String> response = chat("gpt-4o");

        assertClean(response);
        assertEquals("Incorrect API key provided: [REDACTED]. Or was it [REDACTED]?",
                assertOpenAiError(response, 401, "invalid_api_key").path("message").asText());
    }

    @Test
    void an_error_echoing_the_clients_authorization_or_another_deployments_key_is_masked() throws Exception {
        upstreamAnswers(400, "application/json", "{\"error\":{\"message\":\"bad header Authorization: Bearer "
                + CLIENT_KEY + "; upstream key " + OTHER_KEY + "\",\"type\":\"invalid_request_error\",\"param\":null,"
                + "\"code\":\"bad\"}}");

        HttpResponse<String> response = chat("local-llama");

        assertClean(response);
        assertOpenAiError(response, 400, "bad");
        // the client's key presented as api-key: masked exactly, whatever its shape
        HttpResponse<String> viaApiKey = client.send(client.request("/v1/chat/completions")
                .header("api-key", CLIENT_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\"}")).build());
        assertClean(viaApiKey);
        assertEquals(400, viaApiKey.statusCode());
    }

    @Test
    void a_relayed_5xx_echoing_the_authorization_header_is_masked() throws Exception {
        upstreamAnswers(501, "text/plain", "Not implemented. Request headers: authorization=Bearer " + KEY
                + ", x-api-key=" + KEY);

        HttpResponse<String> response = chat("gpt-4o");

        assertClean(response);
        assertEquals(501, response.statusCode());
        assertTrue(response.body().startsWith("Not implemented. Request headers: authorization="), response.body());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
    }

    @Test
    void an_error_without_secrets_passes_unchanged() throws Exception {
        String body = openAiError("The model 'gpt-x' does not exist");
        upstreamAnswers(404, "application/json", body);

        HttpResponse<String> response = chat("gpt-x");

        assertEquals(404, response.statusCode());
        assertEquals(body, response.body());
        assertEquals(Integer.toString(body.length()), response.headers().firstValue("content-length").orElse(null));
    }

    @Test
    void successful_answers_and_streams_pass_byte_for_byte() throws Exception {
        // a 2xx is the client's own data: nothing in it is touched, even what looks like a key
        String json = "{\"choices\":[{\"message\":{\"content\":\"try sk-abcdefghijkl or Bearer abcdefghijkl\"}}]}";
        upstreamAnswers(200, "application/json", json);
        HttpResponse<String> plain = chat("gpt-4o");
        assertEquals(200, plain.statusCode());
        assertEquals(json, plain.body());

        String sse = "data: {\"d\":\"sk-abcdefghijkl\"}\n\ndata: [DONE]\n\n";
        upstream.stubFor(post(urlPathMatching(".*/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(sse).withChunkedDribbleDelay(2, 50)));
        HttpResponse<String> stream = client.send(client.authorized("/v1/chat/completions")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"stream\":true,"
                        + "\"stream_options\":{\"include_usage\":true}}")).build());
        assertEquals(200, stream.statusCode());
        assertEquals(sse, stream.body());
        assertFalse(stream.headers().firstValue("content-length").isPresent(), "a stream is not buffered");
    }

    @Test
    void an_error_body_over_the_cap_or_compressed_is_replaced_by_an_openai_error() throws Exception {
        upstreamAnswers(403, "text/html", "<p>" + KEY + "x".repeat(70_000) + "</p>");
        HttpResponse<String> big = chat("gpt-4o");
        assertClean(big);
        assertOpenAiError(big, 403, "upstream_error");

        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(openAiError(KEY).getBytes(StandardCharsets.UTF_8));
        }
        upstream.stubFor(post(urlPathMatching(".*/v1/chat/completions")).willReturn(aResponse().withStatus(401)
                .withHeader("Content-Type", "application/json").withHeader("Content-Encoding", "gzip")
                .withBody(gz.toByteArray())));
        HttpResponse<String> compressed = chat("gpt-4o");
        assertClean(compressed);
        assertOpenAiError(compressed, 401, "upstream_error");
        assertFalse(compressed.headers().firstValue("content-encoding").isPresent());
    }

    @Test
    void a_dead_lettered_request_has_no_secret_in_its_record_or_answer() throws Exception {
        upstreamAnswers(500, "application/json", openAiError("internal error for key " + KEY));
        String marker = "dl-" + System.nanoTime();
        HttpResponse<String> response = client.postJson("/v1/chat/completions",
                "{\"model\":\"gpt-4o\",\"user\":\"" + marker + "\",\"messages\":[{\"role\":\"user\",\"content\":\"my key is "
                + CLIENT_KEY + "\"}]}");

        assertClean(response);
        // the upstream's own last answer, masked
        assertOpenAiError(response, 500, "invalid_api_key");
        assertTrue(response.body().contains("internal error for key "), response.body());
        Path file = DIR.resolve("dl.jsonl");
        String line = Await.until(10, "the dead-letter record", () ->
                AppendedFile.lines(file).stream().filter(l -> l.contains(marker)).findFirst().orElse(null));
        JsonNode record = JSON.readTree(line);
        assertTrue(record.path("body").asText().contains("my key is [REDACTED]"), line);
        assertFalse(line.contains(CLIENT_KEY), line);
        assertFalse(line.contains(KEY), line);
    }

    @Test
    void a_websocket_refusal_echoing_the_key_is_masked() throws Exception {
        WS_UPSTREAM.refuseWith(req -> new WebSocketUpstream.Refusal(401, "application/json",
                openAiError("Incorrect API key provided: " + req.getHeader("Authorization").substring(7)
                        + " (you sent " + req.getHeader("Authorization") + ")")));
        WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1")
                .setPort(TestEnv.proxyPort()).setURI("/v1/realtime?model=rt-voice")
                .setHeaders(HttpHeaders.headers().add("Authorization", "Bearer " + CLIENT_KEY));
        UpgradeRejectedException refused;
        try {
            WS_CLIENT.connect(options).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).close();
            throw new AssertionError("the handshake was accepted");
        } catch (ExecutionException e) {
            refused = assertInstanceOf(UpgradeRejectedException.class, e.getCause());
        }
        assertEquals(401, refused.getStatus());
        String body = refused.getBody().toString();
        assertEquals(1, WS_UPSTREAM.handshakes().size(), "the upstream saw the handshake");
        assertFalse(body.contains(KEY) || body.contains("sk-upstr"), body);
        assertFalse(body.contains(CLIENT_KEY), body);
        assertTrue(body.contains("Incorrect API key provided: [REDACTED] (you sent Bearer [REDACTED])"), body);
    }
}
