package org.camelopenaiproxy.e2e;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.camelopenaiproxy.pipeline.auth.KeyHashes;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The secret-leak test: the fat jar as a process, WireMock as an upstream that echoes keys in its
 * errors, a run through every kind of answer (upstream 401s echoing the full and a partly masked
 * key, a relayed 5xx and a dead-lettered 500 echoing the {@code Authorization} value, JSON and SSE
 * successes, a wrong client key, a body carrying the client key) with diagnostic mode logging
 * bodies. Then every byte the proxy produced (each raw response: status line, headers, body; stdout;
 * stderr; the access log; the audit file; the dead-letter file) is searched for the upstream key and
 * every client key, and for the first and last 8 characters of each: none may appear.
 */
class SecretLeakIT {

    static final String UPSTREAM_KEY = "sk-upstream-leak-31337-deadbeefcafe";
    static final String CLIENT_KEY = KeyHashes.newKey();
    static final String OTHER_CLIENT_KEY = KeyHashes.newKey();
    static final String WRONG_CLIENT_KEY = KeyHashes.newKey();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path dir;
    static WireMockServer upstream;
    static Process proxy;
    static int port;

    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (Exception e) {
            return "";
        }
    }

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        upstream.start();
        Path keys = dir.resolve("keys.yaml");
        Files.writeString(keys, "keys:\n"
                + "  - name: leak-team\n    key_sha256: " + KeyHashes.sha256Hex(CLIENT_KEY) + "\n"
                + "  - name: leak-other\n    key_sha256: " + KeyHashes.sha256Hex(OTHER_CLIENT_KEY) + "\n");
        Files.writeString(dir.resolve("diagnostics.yaml"), "log_bodies: true\nmax_body_bytes: 65536\n");

        port = TestEnv.freePort();
        ProcessBuilder pb = new ProcessBuilder(java(), "-jar", "target/camel-openai-proxy.jar")
                .redirectOutput(dir.resolve("stdout.log").toFile()).redirectError(dir.resolve("stderr.log").toFile());
        Map<String, String> env = pb.environment();
        env.put("PROXY_PORT", Integer.toString(port));
        env.put("PROXY_HOST", "127.0.0.1");
        env.put("PROXY_KEYS_FILE", keys.toString());
        env.put("PROXY_UPSTREAMS_FILE", dir.resolve("no-upstreams.yaml").toString());
        env.put("OPENAI_BASE_URL", upstream.baseUrl() + "/v1");
        env.put("OPENAI_API_KEY", UPSTREAM_KEY);
        env.put("PROXY_ROUTES_RELOAD_ENABLED", "false");
        env.put("PROXY_DIAGNOSTICS_FILE", dir.resolve("diagnostics.yaml").toString());
        env.put("PROXY_ACCESS_LOG_URI", "stream:file?fileName=" + dir.resolve("access.jsonl"));
        env.put("PROXY_AUDIT_URI", "stream:file?fileName=" + dir.resolve("audit.jsonl"));
        env.put("PROXY_DEAD_LETTER_URI", "file:" + dir + "?fileName=dead-letter.jsonl&fileExist=Append");
        env.put("PROXY_RETRY_MAX_ATTEMPTS", "2");
        env.put("PROXY_RETRY_INITIAL_DELAY_MS", "10");
        env.put("PROXY_CIRCUIT_BREAKER_MINIMUM_CALLS", "1000");
        env.put("PROXY_CACHE_ENABLED", "false");
        proxy = pb.start();

        Await.until(60, "the proxy to be healthy", () -> {
            assertTrue(proxy.isAlive(), () -> "proxy exited: " + read(dir.resolve("stderr.log")));
            try {
                return send("GET", "/observe/health", Map.of(), null).status() == 200 ? true : null;
            } catch (java.io.IOException notYet) {
                return null;
            }
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.destroy();
            proxy.waitFor(20, TimeUnit.SECONDS);
        }
        if (upstream != null) {
            upstream.stop();
        }
    }

    /** One answer as it came over the wire, and its body with any chunked framing removed. */
    record Raw(int status, String wire, String body) {
    }

    /** A plain HTTP/1.1 exchange on a socket (Connection: close), keeping every byte of the answer. */
    static Raw send(String method, String path, Map<String, String> headers, String body) throws java.io.IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
                    + "\r\nConnection: close\r\n");
            headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
            if (body != null) {
                head.append("Content-Length: ").append(content.length).append("\r\n");
            }
            head.append("\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.UTF_8));
            out.write(content);
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] all = in.readAllBytes();
            String wire = new String(all, StandardCharsets.UTF_8);
            int end = wire.indexOf("\r\n\r\n");
            assertTrue(end > 0, () -> "no response head: " + wire);
            String headText = wire.substring(0, end);
            int status = Integer.parseInt(headText.substring(9, 12));
            String rest = wire.substring(end + 4);
            boolean chunked = headText.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked");
            return new Raw(status, wire, chunked ? dechunk(rest) : rest);
        }
    }

    static String dechunk(String framed) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < framed.length()) {
            int eol = framed.indexOf("\r\n", i);
            if (eol < 0) {
                break;
            }
            int size = Integer.parseInt(framed.substring(i, eol).trim().split(";")[0], 16);
            if (size == 0) {
                break;
            }
            // sizes are in bytes; the test bodies are ASCII
            out.append(framed, eol + 2, eol + 2 + size);
            i = eol + 2 + size + 2;
        }
        return out.toString();
    }

    static Map<String, String> bearer(String key) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Authorization", "Bearer " + key);
        h.put("Content-Type", "application/json");
        return h;
    }

    static void upstreamAnswers(String model, int status, String contentType, String body) {
        upstream.stubFor(post("/v1/chat/completions").withRequestBody(matchingJsonPath("$.model", equalTo(model)))
                .willReturn(aResponse().withStatus(status).withHeader("Content-Type", contentType).withBody(body)));
    }

    static String openAiError(String message, String code) {
        return "{\"error\":{\"message\":\"" + message + "\",\"type\":\"invalid_request_error\",\"param\":null,"
               + "\"code\":\"" + code + "\"}}";
    }

    static String chat(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    }

    @Test
    void no_key_appears_in_any_response_log_audit_or_dead_letter_record() throws Exception {
        List<Raw> responses = new ArrayList<>();
        upstreamAnswers("echo-full", 401, "application/json", openAiError("Incorrect API key provided: " + UPSTREAM_KEY
                + ". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_api_key"));
        upstreamAnswers("echo-masked", 401, "application/json",
                openAiError("Incorrect API key provided: sk-upstr*****beefcafe.", "invalid_api_key"));
        upstreamAnswers("echo-auth-501", 501, "application/json",
                openAiError("unsupported; you sent Authorization: Bearer " + UPSTREAM_KEY, "not_implemented"));
        upstreamAnswers("echo-auth-500", 500, "application/json",
                openAiError("crashed handling Authorization: Bearer " + UPSTREAM_KEY, "server_error"));
        upstreamAnswers("ok-json", 200, "application/json", "{\"object\":\"chat.completion\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}");
        upstream.stubFor(post("/v1/chat/completions").withRequestBody(matchingJsonPath("$.model", equalTo("ok-sse")))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream")
                        .withBody("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n")
                        .withChunkedDribbleDelay(2, 40)));

        Raw full = send("POST", "/v1/chat/completions", bearer(CLIENT_KEY), chat("echo-full"));
        responses.add(full);
        assertEquals(401, full.status(), full.wire());
        assertTrue(full.body().contains("Incorrect API key provided: [REDACTED]."), full.wire());

        Raw masked = send("POST", "/v1/chat/completions", bearer(CLIENT_KEY), chat("echo-masked"));
        responses.add(masked);
        assertEquals(401, masked.status(), masked.wire());
        assertTrue(masked.body().contains("Incorrect API key provided: [REDACTED]."), masked.wire());

        Raw relayed5xx = send("POST", "/v1/chat/completions", bearer(CLIENT_KEY), chat("echo-auth-501"));
        responses.add(relayed5xx);
        assertEquals(501, relayed5xx.status(), relayed5xx.wire());
        assertTrue(relayed5xx.body().contains("you sent Authorization: [REDACTED]"), relayed5xx.wire());

        // retried, then dead-lettered; the body the client sent carries its own key
        String deadBody = "{\"model\":\"echo-auth-500\",\"messages\":[{\"role\":\"user\",\"content\":\"my key is "
                + CLIENT_KEY + " and Bearer " + OTHER_CLIENT_KEY + "\"}]}";
        Map<String, String> deadHeaders = bearer(CLIENT_KEY);
        deadHeaders.put("x-request-id", "leak-dead-letter-1");
        Raw dead = send("POST", "/v1/chat/completions", deadHeaders, deadBody);
        responses.add(dead);
        assertEquals(500, dead.status(), "the upstream's own last answer, masked: " + dead.wire());
        assertTrue(dead.body().contains("crashed handling Authorization: [REDACTED]"), dead.wire());

        Raw json = send("POST", "/v1/chat/completions", bearer(CLIENT_KEY), chat("ok-json"));
        responses.add(json);
        assertEquals(200, json.status(), json.wire());
        Raw sse = send("POST", "/v1/chat/completions", bearer(CLIENT_KEY),
                "{\"model\":\"ok-sse\",\"stream\":true,\"messages\":[]}");
        responses.add(sse);
        assertEquals(200, sse.status(), sse.wire());
        assertTrue(sse.body().endsWith("data: [DONE]\n\n"), sse.wire());

        Raw wrong = send("POST", "/v1/chat/completions", bearer(WRONG_CLIENT_KEY), chat("ok-json"));
        responses.add(wrong);
        assertEquals(401, wrong.status(), wrong.wire());
        Map<String, String> wrongApiKey = new LinkedHashMap<>();
        wrongApiKey.put("api-key", WRONG_CLIENT_KEY);
        Raw wrong2 = send("GET", "/v1/models", wrongApiKey, null);
        responses.add(wrong2);
        assertEquals(401, wrong2.status(), wrong2.wire());

        Map<String, String> bodyKeyHeaders = bearer(OTHER_CLIENT_KEY);
        bodyKeyHeaders.put("x-request-id", "leak-body-key-1");
        Raw bodyKey = send("POST", "/v1/chat/completions", bodyKeyHeaders,
                "{\"model\":\"ok-json\",\"messages\":[{\"role\":\"user\",\"content\":\"keys: " + CLIENT_KEY + ", "
                + OTHER_CLIENT_KEY + ", " + UPSTREAM_KEY + "\"}]}");
        responses.add(bodyKey);
        assertEquals(200, bodyKey.status(), bodyKey.wire());

        // the run happened as planned: every output exists and holds what it should (else the search proves nothing)
        assertEquals(8, upstream.findAll(anyRequestedFor(anyUrl())).size(), "upstream calls (the 500 twice)");
        Path access = dir.resolve("access.jsonl");
        Path audit = dir.resolve("audit.jsonl");
        Path deadLetters = dir.resolve("dead-letter.jsonl");
        Await.until(15, "the access-log line with the diagnostic request body",
                () -> read(access).lines().filter(l -> l.contains("leak-body-key-1") && l.contains("\"request_body\""))
                        .findFirst().orElse(null));
        Await.until(15, "the audit events", () -> read(audit).contains("leak-body-key-1") ? true : null);
        Await.until(15, "the dead-letter record", () -> read(deadLetters).contains("leak-dead-letter-1") ? true : null);
        assertTrue(read(access).contains("[REDACTED]"), "diagnostic mode logged no (masked) body: " + read(access));
        assertTrue(read(deadLetters).contains("my key is [REDACTED]"), read(deadLetters));
        assertTrue(read(dir.resolve("stderr.log")).contains("Apache Camel"), "no process log captured");

        Map<String, String> outputs = new LinkedHashMap<>();
        for (int i = 0; i < responses.size(); i++) {
            outputs.put("response #" + (i + 1), responses.get(i).wire() + "\n" + responses.get(i).body());
        }
        for (String file : List.of("stdout.log", "stderr.log", "access.jsonl", "audit.jsonl", "dead-letter.jsonl")) {
            outputs.put(file, read(dir.resolve(file)));
        }
        List<String> needles = new ArrayList<>();
        for (String key : List.of(UPSTREAM_KEY, CLIENT_KEY, OTHER_CLIENT_KEY, WRONG_CLIENT_KEY)) {
            needles.add(key);
            needles.add(key.substring(0, 8));                 // sk-upstr, sk-proxy
            needles.add(key.substring(key.length() - 8));     // the tail partly masked keys show
        }
        List<String> leaks = new ArrayList<>();
        outputs.forEach((where, text) -> {
            for (String needle : needles) {
                int at = text.indexOf(needle);
                if (at >= 0) {
                    leaks.add(where + " contains '" + needle + "': ..."
                            + text.substring(Math.max(0, at - 80), Math.min(text.length(), at + needle.length() + 40))
                                    .replace("\r", "\\r").replace("\n", "\\n") + "...");
                }
            }
        });
        if (!leaks.isEmpty()) {
            fail("secrets leaked:\n" + String.join("\n", leaks));
        }
        assertFalse(outputs.get("access.jsonl").isBlank());
    }
}
