package org.camelopenaiproxy.route;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.PathTricks;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.RawHttp;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The edge of the API listener: CORS for browser front ends, header, request-line and connection
 * limits, read deadlines for slow clients, and request paths that could mean something else to the
 * upstream than to the proxy.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.cors.allowed-origins=https://app.example.com",
            "proxy.limits.max-header-bytes=8192", "proxy.limits.max-headers=50",
            "proxy.limits.max-request-line-bytes=4096", "proxy.limits.max-connections-per-ip=30",
            "proxy.limits.read-timeout-ms=1000"})
class EdgeTest {

    static final String APP = "https://app.example.com";

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());
    private final int port = TestEnv.proxyPort();

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"ok\":true}")));
    }

    private HttpRequest.Builder preflight(String origin, String method, String headers) {
        HttpRequest.Builder b = client.request("/v1/chat/completions").header("Origin", origin)
                .header("Access-Control-Request-Method", method).method("OPTIONS", HttpRequest.BodyPublishers.noBody());
        return headers == null ? b : b.header("Access-Control-Request-Headers", headers);
    }

    // ---- CORS -------------------------------------------------------------------------------

    @Test
    void an_allowed_origin_gets_its_preflight_answered_without_a_key() throws Exception {
        HttpResponse<String> r = client.send(preflight(APP, "POST",
                "authorization, content-type, x-stainless-os, openai-beta").build());
        assertEquals(204, r.statusCode(), r.body());
        assertEquals(APP, r.headers().firstValue("access-control-allow-origin").orElse(null));
        assertTrue(r.headers().firstValue("access-control-allow-methods").orElse("").contains("POST"));
        String allowed = r.headers().firstValue("access-control-allow-headers").orElse("");
        for (String h : new String[] {"authorization", "content-type", "x-stainless-os", "openai-beta"}) {
            assertTrue(allowed.contains(h), h + " not allowed: " + allowed);
        }
        assertEquals("600", r.headers().firstValue("access-control-max-age").orElse(null));
        assertTrue(r.headers().allValues("vary").stream().anyMatch(v -> v.contains("Origin")));
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void an_origin_method_or_header_not_allowed_is_refused_without_cors_headers() throws Exception {
        for (HttpRequest request : List.of(preflight("https://evil.example", "POST", "authorization").build(),
                preflight(APP, "PUT", null).build(), preflight(APP, "POST", "authorization, x-evil").build())) {
            HttpResponse<String> r = client.send(request);
            assertOpenAiError(r, 403, "cors_not_allowed");
            assertTrue(r.headers().firstValue("access-control-allow-origin").isEmpty(), r.headers().toString());
        }
    }

    @Test
    void answers_to_an_allowed_origin_expose_the_proxy_headers_and_others_get_no_cors_headers() throws Exception {
        HttpResponse<String> ok = client.send(client.authorized("/v1/chat/completions").header("Origin", APP)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertEquals(200, ok.statusCode());
        assertEquals(APP, ok.headers().firstValue("access-control-allow-origin").orElse(null));
        String exposed = ok.headers().firstValue("access-control-expose-headers").orElse("");
        for (String h : new String[] {"x-request-id", "x-ratelimit-remaining-requests", "x-ratelimit-reset-tokens",
            "retry-after", "x-proxy-cache"}) {
            assertTrue(exposed.contains(h), h + " not exposed: " + exposed);
        }
        // an error is readable by the page too (it needs the message)
        HttpResponse<String> refused = client.send(client.request("/v1/chat/completions").header("Origin", APP)
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertEquals(401, refused.statusCode());
        assertEquals(APP, refused.headers().firstValue("access-control-allow-origin").orElse(null));

        HttpResponse<String> other = client.send(client.authorized("/v1/chat/completions").header("Origin", "https://evil.example")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertTrue(other.headers().map().keySet().stream().noneMatch(h -> h.startsWith("access-control-")),
                other.headers().toString());
    }

    // ---- limits -----------------------------------------------------------------------------

    @Test
    void oversized_headers_too_many_headers_and_a_long_request_line_get_431_and_414() throws Exception {
        RawHttp.Reply big = RawHttp.send(port, "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(10_000) + "\r\n\r\n");
        assertEquals(431, big.status(), big.toString());
        assertTrue(big.text().contains("\"code\":\"request_header_fields_too_large\""), big.toString());

        StringBuilder many = new StringBuilder("GET /v1/models HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 60; i++) {
            many.append("X-H").append(i).append(": v\r\n");
        }
        RawHttp.Reply count = RawHttp.send(port, many.append("\r\n").toString());
        assertEquals(431, count.status(), count.toString());
        assertTrue(count.text().contains("\"type\":\"invalid_request_error\""), count.toString());

        RawHttp.Reply line = RawHttp.send(port, "GET /v1/models?q=" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals(414, line.status(), line.toString());
        assertEquals(200, client.postJson("/v1/chat/completions", "{}").statusCode(), "still serving");
    }

    @Test
    void a_client_that_sends_its_head_or_body_too_slowly_is_cut_off() throws Exception {
        // a head that never completes: the connection is closed after the read timeout
        try (Socket slow = new Socket("127.0.0.1", port)) {
            slow.setSoTimeout(10_000);
            slow.getOutputStream().write("GET /v1/models HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            long start = System.nanoTime();
            assertEquals(-1, slow.getInputStream().read(), "the server closes the connection");
            assertTrue(System.nanoTime() - start < 8_000_000_000L);
        }
        // a body that stops half way: 408, and the connection is closed
        RawHttp.Reply body = RawHttp.send(port, ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + TestEnv.CLIENT_KEY + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":")
                .getBytes(StandardCharsets.US_ASCII), 8000);
        assertEquals(408, body.status(), body.toString());
        assertTrue(body.text().contains("\"code\":\"request_timeout\""), body.toString());
        assertTrue(body.closed(), "connection closed after the 408");
        // a kept-alive connection that stays silent after its answer is closed too
        try (Socket idle = new Socket("127.0.0.1", port)) {
            idle.setSoTimeout(10_000);
            idle.getOutputStream().write("GET /observe/health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            RawHttp.Reply first = RawHttp.read(idle.getInputStream());
            assertEquals(List.of(200), first.statuses(), first.toString());
            assertTrue(first.closed(), "the idle kept-alive connection is closed after the read timeout");
        }
    }

    @Test
    void a_kept_alive_connection_is_closed_a_read_timeout_after_its_last_answer_not_its_first() throws Exception {
        byte[] health = "GET /observe/health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        try (Socket conn = new Socket("127.0.0.1", port)) {
            conn.setSoTimeout(10_000);
            InputStream in = conn.getInputStream();
            long lastSent = 0;
            // eight requests 200 ms apart: 1.4 s on one connection, past the 1,000 ms read timeout
            // counted from the first answer, each well within it of the one before
            for (int i = 1; i <= 8; i++) {
                if (i > 1) {
                    Thread.sleep(200); // the client's pause between requests: what is under test
                }
                lastSent = System.nanoTime(); // before the request: the deadline starts after its answer
                conn.getOutputStream().write(health);
                assertEquals(200, oneResponse(in), "request " + i + " on the kept-alive connection");
            }
            assertEquals(-1, in.read(), "closed once silent for the read timeout");
            long silentMillis = (System.nanoTime() - lastSent) / 1_000_000;
            assertTrue(silentMillis >= 995, "closed " + silentMillis + " ms after the last request, before its 1,000 ms deadline");
        }
    }

    /** Reads one response with a Content-Length body from a kept-alive connection; its status. */
    private static int oneResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            assertTrue(b >= 0, "connection closed in a response head: " + head);
            head.append((char) b);
        }
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
        assertTrue(length.find(), "a response with a Content-Length: " + head);
        in.readNBytes(Integer.parseInt(length.group(1)));
        return Integer.parseInt(head.substring(9, 12));
    }

    @Test
    void connections_over_the_per_address_limit_are_closed_at_once() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 30; i++) {
                held.add(new Socket("127.0.0.1", port));
            }
            try (Socket extra = new Socket("127.0.0.1", port)) {
                extra.setSoTimeout(5000);
                InputStream in = extra.getInputStream();
                assertEquals(-1, in.read(), "the 31st connection from one address is closed");
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        // once they are gone, new connections are served again
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            try {
                assertEquals(200, client.postJson("/v1/chat/completions", "{}").statusCode());
                break;
            } catch (java.io.IOException closed) {
                assertTrue(System.nanoTime() < deadline, "not served again after the connections closed");
                Thread.sleep(50);
            }
        }
    }

    // ---- paths ------------------------------------------------------------------------------

    @Test
    void path_tricks_are_refused_and_never_reach_the_upstream_or_get_around_the_key() throws Exception {
        for (String path : PathTricks.ALL) {
            RawHttp.Reply r = RawHttp.send(port, "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + TestEnv.CLIENT_KEY + "\r\nContent-Length: 2\r\n\r\n{}");
            assertEquals(400, r.status(), path + " -> " + r);
            assertTrue(r.text().contains("\"code\":\"invalid_path\""), path + " -> " + r);
        }
        // case matters: /V1 is not /v1, so it is simply unknown (and no key check was skipped)
        assertOpenAiError(client.send(client.authorized("/V1/chat/completions").POST(HttpRequest.BodyPublishers.ofString("{}")).build()),
                404, "unknown_url");
        // an absolute-form target is read as its path: the key is still needed, the upstream stays ours
        RawHttp.Reply absolute = RawHttp.send(port, "GET http://evil.example/v1/models HTTP/1.1\r\nHost: evil.example\r\n\r\n");
        assertEquals(401, absolute.status(), absolute.toString());
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size(), "nothing reached the upstream");
        assertFalse(client.send(client.request("/observe/health").GET().build()).body().isEmpty());
    }
}
