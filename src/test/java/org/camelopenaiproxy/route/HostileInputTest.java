package org.camelopenaiproxy.route;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.RawHttp;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile and broken input, sent byte for byte over raw sockets: each case gets the answer it
 * should (a clean 4xx, OpenAI-shaped when the proxy writes it) or has its connection closed, never
 * a 5xx, a stack trace or a hang; and afterwards the proxy still answers normal requests.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.max-request-bytes=1048576", "proxy.limits.read-timeout-ms=1000",
            "proxy.limits.max-header-bytes=8192", "proxy.limits.max-request-line-bytes=4096"})
class HostileInputTest {

    static final String KEY = "Authorization: Bearer " + TestEnv.CLIENT_KEY + "\r\n";
    static final Set<Integer> CLOSED = Set.of(-1);

    /** One case: what is sent, and the statuses acceptable as the first answer (-1: closed without one). */
    record Case(String name, byte[] request, Set<Integer> expected) {
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static Case postCase(String name, String contentType, byte[] body, Set<Integer> expected) {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                + "Content-Length: " + body.length + "\r\n\r\n";
        return new Case(name, concat(bytes(head), body), expected);
    }

    static List<Case> cases() {
        String json = "application/json";
        List<Case> c = new ArrayList<>();
        // bodies
        c.add(postCase("malformed JSON", json, bytes("{\"model\":"), Set.of(400)));
        c.add(postCase("JSON with trailing garbage", json, bytes("{\"model\":\"gpt-4o\"} {}"), Set.of(400)));
        c.add(postCase("a JSON array instead of an object", json, bytes("[1,2,3]"), Set.of(400)));
        c.add(postCase("a bare string", json, bytes("\"hello\""), Set.of(400)));
        c.add(postCase("invalid UTF-8 in a string", json, concat(bytes("{\"model\":\"gpt-4o\",\"x\":\""),
                new byte[] {(byte) 0xC3, (byte) 0x28, (byte) 0xFF}, bytes("\"}")), Set.of(400)));
        c.add(postCase("a NUL byte in the JSON", json, concat(bytes("{\"model\":\"gpt"), new byte[] {0}, bytes("\"}")), Set.of(400)));
        c.add(postCase("JSON nested 5000 deep", json, bytes("{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}"), Set.of(400)));
        c.add(postCase("model given twice (policy bypass attempt)", json,
                bytes("{\"model\":\"gpt-4o-mini\",\"model\":\"o1-pro\"}"), Set.of(400)));
        c.add(postCase("a number beyond range", json, bytes("{\"model\":\"m\",\"max_tokens\":1" + "0".repeat(400) + "}"),
                Set.of(400, 200)));
        c.add(postCase("multipart on a JSON endpoint", "multipart/form-data; boundary=x",
                bytes("--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-4o\r\n--x--\r\n"), Set.of(415)));
        c.add(postCase("text/plain on a JSON endpoint", "text/plain", bytes("{\"model\":\"gpt-4o\"}"), Set.of(415)));
        c.add(new Case("a body over the size limit", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{\"model\":"), Set.of(413)));
        c.add(new Case("a chunked body over the size limit", concat(bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                + KEY + "Transfer-Encoding: chunked\r\n\r\n"), chunked(1_200_000)), Set.of(413)));
        c.add(new Case("Expect: 100-continue with a too large body", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                + KEY + "Expect: 100-continue\r\nContent-Length: 50000000\r\n\r\n"), Set.of(413)));
        // framing
        c.add(new Case("Content-Length and Transfer-Encoding together", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                + KEY + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), Set.of(400, 200, -1)));
        c.add(new Case("two different Content-Lengths", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}"), Set.of(400, -1)));
        c.add(new Case("a negative Content-Length", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Length: -5\r\n\r\n"), Set.of(400, -1)));
        c.add(new Case("a non-numeric Content-Length", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Length: twelve\r\n\r\n"), Set.of(400, -1)));
        c.add(new Case("an unknown Transfer-Encoding", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Transfer-Encoding: gzip\r\n\r\n{}"), Set.of(400)));
        c.add(postCase("an empty body on a JSON endpoint", json, new byte[0], Set.of(400)));
        c.add(new Case("a bad chunk size", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), Set.of(400, -1)));
        c.add(new Case("a body shorter than its Content-Length", bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                + KEY + "Content-Length: 100\r\n\r\n{\"model\":"), Set.of(408, -1)));
        // heads
        c.add(new Case("a CR inside a header value", bytes("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: b\rInjected: 1\r\n\r\n"),
                Set.of(400, 401, -1)));
        c.add(new Case("CRLF smuggled into x-request-id", bytes("GET /v1/models HTTP/1.1\r\nHost: x\r\n"
                + "X-Request-Id: a\r\n Set-Cookie: pwned=1\r\n\r\n"), Set.of(400, 401, -1)));
        c.add(new Case("a header line without a colon", bytes("GET /v1/models HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"),
                Set.of(400, -1)));
        c.add(new Case("a space before the colon", bytes("GET /v1/models HTTP/1.1\r\nHost : x\r\n\r\n"), Set.of(400, 401, -1)));
        c.add(new Case("a header too large", bytes("GET /v1/models HTTP/1.1\r\nHost: x\r\nX: " + "a".repeat(9000) + "\r\n\r\n"),
                Set.of(431)));
        c.add(new Case("a request line too long", bytes("GET /v1/models?" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n"),
                Set.of(414)));
        c.add(new Case("8-bit bytes in a header value", concat(bytes("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: "),
                new byte[] {(byte) 0xFF, (byte) 0xFE}, bytes("\r\n\r\n")), Set.of(400, 401)));
        // request lines and methods
        c.add(new Case("an unknown method", bytes("FOO /v1/models HTTP/1.1\r\nHost: x\r\n" + KEY + "\r\n"), Set.of(405, 400, 501)));
        c.add(new Case("TRACE", bytes("TRACE /v1/models HTTP/1.1\r\nHost: x\r\n" + KEY + "\r\n"), Set.of(405)));
        c.add(new Case("CONNECT", bytes("CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n"),
                Set.of(400, 404, 405, -1)));
        c.add(new Case("PUT", bytes("PUT /v1/models HTTP/1.1\r\nHost: x\r\n" + KEY + "Content-Length: 0\r\n\r\n"), Set.of(405)));
        c.add(new Case("an unknown HTTP version", bytes("GET /v1/models HTTP/9.9\r\nHost: x\r\n\r\n"), Set.of(400, 505, -1)));
        c.add(new Case("garbage instead of a request line", bytes("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003\r\n\r\n"),
                Set.of(400, -1)));
        c.add(new Case("a request line with no version", bytes("GET /v1/models\r\n\r\n"), Set.of(400, 401, -1)));
        c.add(new Case("HTTP/1.0 without Host or key", bytes("GET /v1/models HTTP/1.0\r\n\r\n"), Set.of(401)));
        c.add(new Case("a path with an encoded slash", bytes("GET /v1/files%2f..%2fadmin HTTP/1.1\r\nHost: x\r\n" + KEY + "\r\n"),
                Set.of(400)));
        c.add(new Case("a TLS ClientHello on the plain port", concat(new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01,
            0x00, 0x00, (byte) 0xa1, 0x03, 0x03}, new byte[160]), Set.of(400, -1)));
        return c;
    }

    static byte[] chunked(int total) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'a');
        for (int sent = 0; sent < total; sent += chunk.length) {
            out.writeBytes(bytes(Integer.toHexString(chunk.length) + "\r\n"));
            out.writeBytes(chunk);
            out.writeBytes(bytes("\r\n"));
        }
        out.writeBytes(bytes("0\r\n\r\n"));
        return out.toByteArray();
    }

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @Test
    void every_hostile_request_gets_a_clean_answer_and_the_proxy_keeps_serving() throws Exception {
        upstream.resetAll();
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"ok\":true}")));
        List<Case> cases = cases();
        assertTrue(cases.size() >= 30, "a table of at least 30 cases");
        List<String> failures = new ArrayList<>();
        for (Case c : cases) {
            RawHttp.Reply reply = RawHttp.send(TestEnv.proxyPort(), c.request(), 2000);
            int status = reply.statuses().isEmpty() ? -1 : reply.status();
            String why = null;
            if (!c.expected().contains(status)) {
                why = "expected one of " + c.expected() + ", got " + status;
            } else if (status == -1 && !reply.closed()) {
                why = "neither answered nor closed (a hang)";
            } else if (reply.text().contains("Exception") || reply.text().contains("\tat ")) {
                why = "a stack trace in the answer";
            } else if (status >= 400 && reply.text().contains("application/json") && !reply.text().contains("\"error\":{\"message\"")) {
                why = "a JSON error that is not OpenAI-shaped";
            } else if (reply.text().toLowerCase().contains("set-cookie: pwned")) {
                why = "a header injected into the answer";
            }
            if (why != null) {
                failures.add(c.name() + ": " + why + " | " + reply);
            }
        }
        assertEquals(List.of(), failures, String.join("\n", failures));

        // abrupt disconnects: mid-head, mid-body, right after a complete request
        String[] cut = {"POST /v1/chat/comp", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Length: 50\r\n\r\n{\"model\":", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Length: 2\r\n\r\n{}"};
        for (int i = 0; i < 30; i++) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", TestEnv.proxyPort())) {
                s.setSoLinger(true, 0); // a reset, not a polite close
                s.getOutputStream().write(bytes(cut[i % cut.length]));
            }
        }

        // still healthy: a normal request, a stream of them, and the health check
        for (int i = 0; i < 20; i++) {
            assertEquals(200, client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}").statusCode());
        }
        assertEquals(200, client.send(client.request("/observe/health/live").GET().build()).statusCode());
        assertFalse(upstream.getAllServeEvents().stream().anyMatch(e -> e.getRequest().getBodyAsString().contains("o1-pro")),
                "the duplicate-model body never reached the upstream");
    }

    @Test
    void pipelined_requests_are_answered_in_order_and_a_refused_body_is_never_read_as_a_request() throws Exception {
        upstream.resetAll();
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"ok\":true}")));
        String inner = "{\"model\":\"smuggled\"}";
        String smuggled = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Length: " + inner.length() + "\r\n\r\n" + inner;
        String first = "{\"model\":\"first\"}";
        String third = "{\"model\":\"third\"}";
        byte[] pipeline = bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY
                + "Content-Type: application/json\r\nContent-Length: " + first.length() + "\r\n\r\n" + first
                // refused by its key before its body is read: the body (a whole request) must be skipped, not served
                + "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-wrong\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + smuggled.length() + "\r\n\r\n" + smuggled
                + "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + KEY + "Connection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + third.length() + "\r\n\r\n" + third);
        RawHttp.Reply reply = RawHttp.send(TestEnv.proxyPort(), pipeline, 5000);
        assertEquals(List.of(200, 401, 200), reply.statuses(), reply.toString());
        assertTrue(reply.closed(), "closed after the request that asked for it: " + reply);
        List<String> seen = upstream.getAllServeEvents().stream().map(e -> e.getRequest().getBodyAsString()).toList();
        assertEquals(List.of(third, first), seen, "what reached the upstream, newest first");
    }
}
