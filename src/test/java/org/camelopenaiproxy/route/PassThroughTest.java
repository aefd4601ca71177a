package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.delete;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.request-buffer-bytes=65536"})
class PassThroughTest {

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeforeEach
    void reset() {
        upstream.resetAll();
    }

    @Test
    void json_body_reaches_the_upstream_byte_identical_and_the_answer_comes_back() throws Exception {
        String body = "{ \"model\" : \"gpt-4o-mini\",\n  \"messages\":[{\"role\":\"user\",\"content\":\"h\u00e9llo \\u00e9\"}],\"z\":1.50}";
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\"}")));

        HttpResponse<String> response = client.postJson("/v1/chat/completions", body);

        assertEquals(200, response.statusCode());
        assertEquals("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\"}", response.body());
        LoggedRequest seen = upstream.findAll(anyRequestedFor(anyUrl())).get(0);
        assertArrayEquals(body.getBytes(StandardCharsets.UTF_8), seen.getBody());
        assertEquals("/v1/chat/completions", seen.getUrl());
    }

    @Test
    void upstream_key_replaces_the_client_key() throws Exception {
        upstream.stubFor(post("/v1/embeddings").willReturn(aResponse().withStatus(200).withBody("{}")));

        client.send(client.request("/v1/embeddings").header("api-key", TestEnv.CLIENT_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"input\":\"a\"}")).build());
        client.postJson("/v1/embeddings", "{\"input\":\"b\"}");

        for (LoggedRequest seen : upstream.findAll(anyRequestedFor(anyUrl()))) {
            assertEquals("Bearer " + TestEnv.UPSTREAM_KEY, seen.getHeader("Authorization"));
            assertFalse(seen.containsHeader("api-key"));
            assertFalse(seen.getBodyAsString().contains(TestEnv.CLIENT_KEY));
            seen.getHeaders().all().forEach(h -> assertFalse(h.values().toString().contains(TestEnv.CLIENT_KEY),
                    "client key forwarded in " + h.key()));
        }
        assertEquals(2, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void only_allowed_headers_cross_in_either_direction() throws Exception {
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withHeader("x-request-id", "req_123")
                .withHeader("openai-processing-ms", "42")
                .withHeader("x-ratelimit-remaining-requests", "99")
                .withHeader("retry-after", "1")
                .withHeader("Set-Cookie", "__cf_bm=secret")
                .withHeader("Server", "upstream-internal")
                .withBody("{}")));

        HttpResponse<String> response = client.send(client.authorized("/v1/chat/completions")
                .header("Content-Type", "application/json")
                .header("Accept-Encoding", "gzip, deflate")
                .header("OpenAI-Organization", "org-1")
                .header("OpenAI-Beta", "assistants=v2")
                .header("X-Stainless-Lang", "python")
                .header("Cookie", "session=abc")
                .header("X-Forwarded-For", "10.0.0.1")
                .header("CamelHttpUri", "http://evil.example/")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());

        LoggedRequest seen = upstream.findAll(anyRequestedFor(anyUrl())).get(0);
        assertEquals("org-1", seen.getHeader("OpenAI-Organization"));
        assertEquals("assistants=v2", seen.getHeader("OpenAI-Beta"));
        assertEquals("python", seen.getHeader("X-Stainless-Lang"));
        assertFalse(seen.containsHeader("Accept-Encoding"), "Accept-Encoding must not go upstream");
        assertFalse(seen.containsHeader("Cookie"));
        assertFalse(seen.containsHeader("X-Forwarded-For"));
        assertFalse(seen.containsHeader("CamelHttpUri"));

        // x-request-id is the proxy's (the one it sent upstream); the upstream's own id comes alongside
        assertEquals(seen.getHeader("x-request-id"), response.headers().firstValue("x-request-id").orElse(null));
        assertEquals("req_123", response.headers().firstValue("x-upstream-request-id").orElse(null));
        assertEquals("42", response.headers().firstValue("openai-processing-ms").orElse(null));
        assertEquals("99", response.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
        assertEquals("1", response.headers().firstValue("retry-after").orElse(null));
        assertTrue(response.headers().firstValue("set-cookie").isEmpty());
        assertTrue(response.headers().firstValue("server").isEmpty());
    }

    @Test
    void get_with_query_and_delete_are_forwarded() throws Exception {
        upstream.stubFor(get(urlEqualTo("/v1/files?purpose=batch&limit=2")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"data\":[]}")));
        upstream.stubFor(delete("/v1/files/file-abc").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"deleted\":true}")));

        HttpResponse<String> list = client.get("/v1/files?purpose=batch&limit=2");
        HttpResponse<String> deleted = client.send(client.authorized("/v1/files/file-abc").DELETE().build());

        assertEquals(200, list.statusCode());
        assertEquals("{\"data\":[]}", list.body());
        assertEquals(200, deleted.statusCode());
        assertEquals("{\"deleted\":true}", deleted.body());
    }

    @Test
    void multipart_upload_is_forwarded_byte_identical_with_its_boundary() throws Exception {
        byte[] audio = randomBytes(20_000, 7);
        String boundary = "----proxytest7MA4YWxkTrZu0gW";
        byte[] multipart = concat(
                ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--" + boundary
                 + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII),
                audio, ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        upstream.stubFor(post("/v1/audio/transcriptions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"text\":\"hi\"}")));

        HttpResponse<String> response = client.send(client.authorized("/v1/audio/transcriptions")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(multipart)).build());

        assertEquals(200, response.statusCode());
        LoggedRequest seen = upstream.findAll(anyRequestedFor(anyUrl())).get(0);
        assertEquals("multipart/form-data; boundary=" + boundary, seen.getHeader("Content-Type"));
        assertArrayEquals(multipart, seen.getBody());
    }

    @Test
    void upload_larger_than_the_buffer_is_streamed_through_byte_identical() throws Exception {
        byte[] file = randomBytes(3 * 1024 * 1024 + 17, 11); // request-buffer-bytes is 64 KiB in this test
        upstream.stubFor(post("/v1/files").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"id\":\"file-1\"}")));

        HttpResponse<String> response = client.send(client.authorized("/v1/files")
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(file)).build());

        assertEquals(200, response.statusCode());
        assertArrayEquals(file, upstream.findAll(anyRequestedFor(anyUrl())).get(0).getBody());
    }

    @Test
    void binary_download_comes_back_byte_identical() throws Exception {
        byte[] speech = randomBytes(2 * 1024 * 1024 + 5, 3);
        upstream.stubFor(post("/v1/audio/speech").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "audio/mpeg").withBody(speech)));
        upstream.stubFor(get("/v1/files/file-1/content").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/octet-stream").withBody(speech).withChunkedDribbleDelay(4, 100)));

        HttpResponse<byte[]> mp3 = client.sendForBytes(client.authorized("/v1/audio/speech")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tts-1\",\"input\":\"hi\",\"voice\":\"alloy\"}")).build());
        HttpResponse<byte[]> content = client.sendForBytes(client.authorized("/v1/files/file-1/content").GET().build());

        assertEquals(200, mp3.statusCode());
        assertEquals("audio/mpeg", mp3.headers().firstValue("content-type").orElse(null));
        assertArrayEquals(speech, mp3.body());
        assertEquals(200, content.statusCode());
        assertArrayEquals(speech, content.body());
    }

    @Test
    void upstream_errors_pass_through_unchanged() throws Exception {
        String error = "{\"error\":{\"message\":\"Invalid 'messages': empty array.\",\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"empty_array\"}}";
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(400)
                .withHeader("Content-Type", "application/json").withBody(error)));
        upstream.stubFor(post("/v1/embeddings").willReturn(aResponse().withStatus(422)
                .withHeader("Content-Type", "application/json").withHeader("openai-processing-ms", "7")
                .withBody("{\"error\":{\"message\":\"Unprocessable\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"unprocessable_entity\"}}")));
        upstream.stubFor(get("/v1/models/nope").willReturn(aResponse().withStatus(404)
                .withHeader("Content-Type", "application/json").withBody("{\"error\":{\"message\":\"no such model\"}}")));

        HttpResponse<String> bad = client.postJson("/v1/chat/completions", "{\"messages\":[]}");
        HttpResponse<String> limited = client.postJson("/v1/embeddings", "{}");
        HttpResponse<String> missing = client.get("/v1/models/nope");

        assertEquals(400, bad.statusCode());
        assertEquals(error, bad.body());
        assertEquals(422, limited.statusCode());
        assertEquals("7", limited.headers().firstValue("openai-processing-ms").orElse(null));
        assertTrue(limited.body().contains("unprocessable_entity"));
        assertEquals(404, missing.statusCode());
        assertEquals("{\"error\":{\"message\":\"no such model\"}}", missing.body());
        assertEquals(3, upstream.findAll(anyRequestedFor(anyUrl())).size(), "client errors must not be retried");
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
