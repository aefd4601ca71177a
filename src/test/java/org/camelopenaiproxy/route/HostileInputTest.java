package org.camelopenaiproxy.route;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.inbound.BufferBudget;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.RawHttp;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile and broken input, sent byte for byte over raw sockets, one row per case, each with its one
 * expected outcome: the status of the only answer, whether the proxy must close the connection by
 * itself after it (RFC 9112 says so for every framing error; those requests do not ask for a close),
 * and whether the upstream may see anything. Rows that expect an answer on a kept connection send
 * {@code Connection: close} so the read ends at once. Every error answer must be OpenAI-shaped, and
 * no answer may hold a stack trace. The last row is a normal request: the proxy still serves.
 * <p>
 * Sizes are scaled down by the properties below: JSON bodies are capped at 2 MiB, audio at 256 KiB,
 * and any body over 64 KiB would be streamed if it were not one the policy must read; at most
 * 3,000,000 body bytes are held in memory at once.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.keys.file={{sys:test.hostile.keys}}", "proxy.max-request-bytes=1048576",
            "proxy.request-buffer-bytes=65536", "proxy.limits.max-json-bytes=2097152",
            "proxy.limits.max-audio-bytes=262144", "proxy.limits.read-timeout-ms=2000",
            "proxy.limits.max-header-bytes=8192", "proxy.limits.max-request-line-bytes=4096",
            "proxy.limits.max-buffered-bytes=3000000"})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputTest {

    static final String OPEN = "sk-hostile-open";
    static final String LIMITED = "sk-hostile-limited";
    static final Path KEYS_FILE = TestEnv.keysFileWith("""
            keys:
              - name: open
                key_sha256: {{hash:sk-hostile-open}}
              - name: limited
                key_sha256: {{hash:sk-hostile-limited}}
                models: ["fake-model"]
                aliases: { "nice": "fake-model", "sneaky": "fake-model-mini" }
            """);

    static {
        System.setProperty("test.hostile.keys", KEYS_FILE.toString());
    }

    static final String CHAT = "/v1/chat/completions";
    static final String AUDIO = "/v1/audio/transcriptions";
    static final int CLOSED_UNANSWERED = -1;

    /** What a row expects: the only answer's status (or none), closed by the proxy, the upstream untouched. */
    record Expect(int status, boolean proxyCloses, boolean upstreamUntouched) {

        @Override
        public String toString() {
            return (status == CLOSED_UNANSWERED ? "closed unanswered" : status + (proxyCloses ? " + close" : ""))
                    + (upstreamUntouched ? ", upstream untouched" : "");
        }
    }

    /** Refused on a connection that asked to close: the status, and nothing forwarded. */
    static Expect refused(int status) {
        return new Expect(status, false, true);
    }

    /** Refused, and the proxy closes the connection by itself (RFC 9112 §6.1, §6.3); nothing forwarded. */
    static Expect refusedAndClosed(int status) {
        return new Expect(status, true, true);
    }

    /** Served: forwarded to the upstream, which answers 200. */
    static Expect served() {
        return new Expect(200, false, false);
    }

    static Arguments row(String name, byte[] request, Expect expect) {
        return Arguments.of(Named.of(name, request), expect);
    }

    static Arguments row(String name, String request, Expect expect) {
        return row(name, bytes(request), expect);
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

    static String auth(String key) {
        return "Authorization: Bearer " + key + "\r\n";
    }

    /** A POST that asks for the connection to close after the answer. */
    static byte[] postRequest(String path, String key, String contentType, byte[] body) {
        return concat(bytes("POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth(key) + "Connection: close\r\n"
                + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                + "Content-Length: " + body.length + "\r\n\r\n"), body);
    }

    static byte[] chat(String key, String json) {
        return postRequest(CHAT, key, "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] chatBytes(String key, byte[] json) {
        return postRequest(CHAT, key, "application/json", json);
    }

    static byte[] chunkedChat(String key, byte[] json) {
        return concat(bytes("POST " + CHAT + " HTTP/1.1\r\nHost: x\r\n" + auth(key) + "Connection: close\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"), chunked(json));
    }

    static String getRequest(String target, String version) {
        return "GET " + target + " " + version + "\r\nHost: x\r\n" + auth(OPEN) + "Connection: close\r\n\r\n";
    }

    /** A framing row's head: no Connection: close, so only the proxy can close. */
    static String head(String extra) {
        return "POST " + CHAT + " HTTP/1.1\r\nHost: x\r\n" + auth(OPEN) + "Content-Type: application/json\r\n" + extra;
    }

    static final String SMUGGLED = "POST " + CHAT + " HTTP/1.1\r\nHost: x\r\n" + auth(OPEN)
            + "Content-Length: 21\r\n\r\n{\"model\":\"smuggled\"}\n";

    /** A JSON body naming {@code model}, padded with a long string to {@code size} bytes. */
    static byte[] padded(String model, int size) {
        String start = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"";
        String end = "\"}]}";
        return bytes(start + "a".repeat(size - start.length() - end.length()) + end);
    }

    static final String BOUNDARY = "----b0undary";
    static final String MULTIPART = "multipart/form-data; boundary=" + BOUNDARY;

    static String part(String name, String value) {
        return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
    }

    static String filePart(int size) {
        return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n" + "R".repeat(size) + "\r\n";
    }

    static byte[] audio(String key, String contentType, String body) {
        return postRequest(AUDIO, key, contentType, bytes(body));
    }

    static byte[] chunked(byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int at = 0; at < body.length; at += 32 * 1024) {
            int n = Math.min(32 * 1024, body.length - at);
            out.writeBytes(bytes(Integer.toHexString(n) + "\r\n"));
            out.write(body, at, n);
            out.writeBytes(bytes("\r\n"));
        }
        out.writeBytes(bytes("0\r\n\r\n"));
        return out.toByteArray();
    }

    static List<Arguments> rows() {
        List<Arguments> r = new ArrayList<>();
        String body = "{\"model\":\"m\"}";
        // --- framing (RFC 9112 §6): the proxy answers and closes; the bytes behind are never a request
        r.add(row("Content-Length with Transfer-Encoding, a request smuggled behind",
                head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") + SMUGGLED, refusedAndClosed(400)));
        r.add(row("Transfer-Encoding before Content-Length",
                head("Transfer-Encoding: chunked\r\nContent-Length: 13\r\n\r\n" + body), refusedAndClosed(400)));
        r.add(row("Transfer-Encoding: gzip", head("Transfer-Encoding: gzip\r\n\r\n" + body), refusedAndClosed(501)));
        r.add(row("Transfer-Encoding: gzip, chunked", head("Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
                refusedAndClosed(501)));
        r.add(row("Transfer-Encoding: identity", head("Transfer-Encoding: identity\r\n\r\n" + body), refusedAndClosed(501)));
        r.add(row("Transfer-Encoding: xchunked", head("Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"), refusedAndClosed(501)));
        r.add(row("Transfer-Encoding: chunked twice", head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\n"), refusedAndClosed(400)));
        r.add(row("Transfer-Encoding in HTTP/1.0", "POST " + CHAT + " HTTP/1.0\r\n" + auth(OPEN)
                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", refusedAndClosed(400)));
        r.add(row("two different Content-Lengths", head("Content-Length: 13\r\nContent-Length: 40\r\n\r\n" + body),
                refusedAndClosed(400)));
        r.add(row("a Content-Length list of different values", head("Content-Length: 13, 40\r\n\r\n" + body),
                refusedAndClosed(400)));
        r.add(row("a negative Content-Length", head("Content-Length: -5\r\n\r\n"), refusedAndClosed(400)));
        r.add(row("a signed Content-Length", head("Content-Length: +13\r\n\r\n" + body), refusedAndClosed(400)));
        r.add(row("a non-numeric Content-Length", head("Content-Length: twelve\r\n\r\n"), refusedAndClosed(400)));
        r.add(row("an empty Content-Length", head("Content-Length: \r\n\r\n"), refusedAndClosed(400)));
        r.add(row("a Content-Length of 20 digits", head("Content-Length: 99999999999999999999\r\n\r\n"), refusedAndClosed(400)));
        r.add(row("a bad chunk size", head("Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
                // the body has begun: no answer can follow it reliably, the connection closes (RFC 9112 §7.1)
                new Expect(CLOSED_UNANSWERED, true, true)));
        // --- header lines (RFC 9112 §5)
        r.add(row("an empty header name", head(": empty\r\nContent-Length: 13\r\n\r\n" + body), refusedAndClosed(400)));
        r.add(row("a space before the colon", head("X-A : b\r\nContent-Length: 13\r\n\r\n" + body), refusedAndClosed(400)));
        r.add(row("a tab before the colon", head("X-A\t: b\r\nContent-Length: 13\r\n\r\n" + body), refusedAndClosed(400)));
        r.add(row("obs-fold", head("X-A: b\r\n  folded\r\nContent-Length: 13\r\n\r\n" + body), refusedAndClosed(400)));
        r.add(row("a header line without a colon", head("NoColonHere\r\nContent-Length: 13\r\n\r\n" + body),
                refusedAndClosed(400)));
        r.add(row("a bare CR inside a header value", head("X-A: b\rInjected: 1\r\nContent-Length: 13\r\n\r\n" + body),
                refusedAndClosed(400)));
        r.add(row("a NUL in a header value", head("X-A: b\u0000c\r\nContent-Length: 13\r\n\r\n" + body),
                refusedAndClosed(400)));
        r.add(row("CRLF smuggled into x-request-id (a folded Set-Cookie)", head("X-Request-Id: a\r\n Set-Cookie: pwned=1\r\n"
                + "Content-Length: 13\r\n\r\n" + body), refusedAndClosed(400)));
        r.add(row("a non-token character in a header name", head("X(A): b\r\nContent-Length: 13\r\n\r\n" + body),
                refusedAndClosed(400)));
        // --- request lines and versions (RFC 9112 §2.3, §3)
        r.add(row("HTTP/9.9", "GET /v1/models HTTP/9.9\r\nHost: x\r\n\r\n", refusedAndClosed(505)));
        r.add(row("HTTP/2.0 in a request line", "GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n", refusedAndClosed(505)));
        r.add(row("an HTTP/2 preface on a port without h2c", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", refusedAndClosed(505)));
        r.add(row("lower-case http/1.1", "GET /v1/models http/1.1\r\nHost: x\r\n\r\n", refusedAndClosed(400)));
        r.add(row("HTTP/1 without a minor version", "GET /v1/models HTTP/1\r\nHost: x\r\n\r\n", refusedAndClosed(400)));
        r.add(row("HTTP/1.10", "GET /v1/models HTTP/1.10\r\nHost: x\r\n\r\n", refusedAndClosed(400)));
        r.add(row("a request line with no version", "GET /v1/models\r\nHost: x\r\n\r\n", refusedAndClosed(400)));
        r.add(row("two spaces in the request line", "GET  /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", refusedAndClosed(400)));
        r.add(row("1 KiB of NUL bytes", new byte[1024], refusedAndClosed(400)));
        r.add(row("a TLS ClientHello on the plain port", concat(new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01,
            0x00, 0x00, (byte) 0xa1, 0x03, 0x03}, new byte[160]), refusedAndClosed(400)));
        r.add(row("an SSLv2 ClientHello", new byte[] {(byte) 0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00,
            0x00, 0x10, 0x07, 0x00, (byte) 0xc0}, refusedAndClosed(400)));
        r.add(row("a request line too long", "GET /v1/models?" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
                refusedAndClosed(414)));
        r.add(row("a header too large", "GET /v1/models HTTP/1.1\r\nHost: x\r\nX: " + "a".repeat(9000) + "\r\n\r\n",
                refusedAndClosed(431)));
        r.add(row("101 header lines", "GET /v1/models HTTP/1.1\r\nHost: x\r\n" + auth(OPEN) + "Connection: close\r\n"
                + "X-A: b\r\n".repeat(101) + "\r\n", refusedAndClosed(431)));
        r.add(row("HTTP/1.2 is served as HTTP/1.1", getRequest("/v1/models", "HTTP/1.2"), new Expect(200, false, false)));
        // --- paths and methods
        r.add(row("a dot-dot segment", getRequest("/v1/../admin", "HTTP/1.1"), refused(400)));
        r.add(row("an encoded slash and dots", getRequest("/v1/files%2f..%2fadmin", "HTTP/1.1"), refused(400)));
        r.add(row("encoded dots", getRequest("/v1/%2e%2e/models", "HTTP/1.1"), refused(400)));
        r.add(row("an empty segment", getRequest("/v1//models", "HTTP/1.1"), refused(400)));
        r.add(row("an encoded NUL", getRequest("/v1/models%00", "HTTP/1.1"), refused(400)));
        r.add(row("a backslash", getRequest("/v1\\..\\admin", "HTTP/1.1"), refused(400)));
        r.add(row("a path parameter", getRequest("/v1/models;jsessionid=1", "HTTP/1.1"), refused(400)));
        r.add(row("a path outside /v1", getRequest("/admin", "HTTP/1.1"), refused(404)));
        r.add(row("TRACE", "TRACE /v1/models HTTP/1.1\r\nHost: x\r\n" + auth(OPEN) + "Connection: close\r\n\r\n",
                refused(405)));
        r.add(row("PUT", "PUT /v1/models HTTP/1.1\r\nHost: x\r\n" + auth(OPEN) + "Connection: close\r\n"
                + "Content-Length: 0\r\n\r\n", refused(405)));
        r.add(row("a wrong key", chat("sk-wrong", body), refused(401)));
        r.add(row("the open key in a second Authorization header after a wrong one", concat(bytes("POST " + CHAT
                + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-wrong\r\n" + auth(OPEN) + "Connection: close\r\n"
                + "Content-Length: 13\r\n\r\n"), bytes(body)), refused(401)));
        // --- sizes (JSON cap 2 MiB, audio cap 256 KiB; bodies over 64 KiB would be streamed if not inspected)
        r.add(row("a JSON body declared over its cap", head("Connection: close\r\nContent-Length: 3000000\r\n\r\n{\"model\":"),
                refused(413)));
        r.add(row("a chunked JSON body past its cap", chunkedChat(OPEN, padded("m", 2_200_000)), refused(413)));
        r.add(row("Expect: 100-continue with a JSON body over its cap", head("Connection: close\r\n"
                + "Expect: 100-continue\r\nContent-Length: 3000000\r\n\r\n"), refused(413)));
        r.add(row("an audio body over its cap", postRequest(AUDIO, OPEN, MULTIPART, new byte[300_000]), refused(413)));
        r.add(row("a 200 KiB body naming a model the key may not use", chatBytes(LIMITED, padded("fake-model-mini", 200_000)),
                refused(403)));
        r.add(row("the same, chunked", chunkedChat(LIMITED, padded("fake-model-mini", 200_000)), refused(403)));
        r.add(row("a 200 KiB JSON body to /v1/assistants naming a model the key may not use", postRequest("/v1/assistants",
                LIMITED, "application/json", padded("fake-model-mini", 200_000)), refused(403)));
        r.add(row("a 1.5 MiB body naming the allowed model", chatBytes(LIMITED, padded("fake-model", 1_500_000)), served()));
        r.add(row("a 200 KiB body with a broken end", chatBytes(OPEN, Arrays.copyOf(padded("m", 200_000), 199_999)),
                refused(400)));
        // --- multipart (audio): parts split by the boundary
        r.add(row("a decoy model inside an earlier part", audio(LIMITED, MULTIPART, part("prompt",
                "x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nfake-model") + part("model", "fake-model-mini")
                + filePart(10) + "--" + BOUNDARY + "--\r\n"), refused(403)));
        r.add(row("two model parts", audio(LIMITED, MULTIPART, part("model", "fake-model") + part("model", "fake-model-mini")
                + filePart(10) + "--" + BOUNDARY + "--\r\n"), refused(400)));
        r.add(row("multipart without a boundary", audio(LIMITED, "multipart/form-data", part("model", "fake-model")
                + "--" + BOUNDARY + "--\r\n"), refused(400)));
        r.add(row("a part without Content-Disposition", audio(LIMITED, MULTIPART, "--" + BOUNDARY
                + "\r\nContent-Type: text/plain\r\n\r\nfake-model\r\n--" + BOUNDARY + "--\r\n"), refused(400)));
        r.add(row("a part without its header block", audio(LIMITED, MULTIPART, "--" + BOUNDARY + "\r\nfake-model"),
                refused(400)));
        r.add(row("multipart without its closing boundary", audio(LIMITED, MULTIPART, part("model", "fake-model")
                + filePart(10)), refused(400)));
        r.add(row("a multipart model after the file", audio(LIMITED, MULTIPART, filePart(10)
                + part("model", "fake-model-mini") + "--" + BOUNDARY + "--\r\n"), refused(403)));
        r.add(row("a 200 KiB upload naming a model the key may not use", audio(LIMITED, MULTIPART, part("model",
                "fake-model-mini") + filePart(200_000) + "--" + BOUNDARY + "--\r\n"), refused(403)));
        r.add(row("a multipart upload with no model part", audio(LIMITED, MULTIPART, filePart(10) + "--" + BOUNDARY
                + "--\r\n"), refused(403)));
        r.add(row("a 200 KiB upload naming the allowed model", audio(LIMITED, MULTIPART, part("model", "fake-model")
                + filePart(200_000) + "--" + BOUNDARY + "--\r\n"), served()));
        // --- JSON tricks on model
        r.add(row("a unicode-escaped forbidden model", chat(LIMITED, "{\"model\":\"\\u0066ake-model-mini\"}"), refused(403)));
        r.add(row("a unicode-escaped allowed model", chat(LIMITED, "{\"model\":\"\\u0066ake-model\"}"), served()));
        r.add(row("model given twice", chat(LIMITED, "{\"model\":\"fake-model\",\"model\":\"fake-model-mini\"}"), refused(400)));
        r.add(row("model given twice, once escaped", chat(LIMITED, "{\"model\":\"fake-model\",\"mod\\u0065l\":\"o1-pro\"}"),
                refused(400)));
        r.add(row("model only in a nested object", chat(LIMITED, "{\"metadata\":{\"model\":\"fake-model\"},\"messages\":[]}"),
                refused(403)));
        r.add(row("an allowed nested model, a forbidden top-level one", chat(LIMITED,
                "{\"x\":{\"model\":\"fake-model\"},\"model\":\"fake-model-mini\"}"), refused(403)));
        r.add(row("a byte order mark", chatBytes(LIMITED, concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
                bytes("{\"model\":\"fake-model\"}"))), refused(400)));
        r.add(row("a comment before model", chat(LIMITED, "{/* x */\"model\":\"fake-model\"}"), refused(400)));
        r.add(row("single-quoted strings", chat(LIMITED, "{'model':'fake-model'}"), refused(400)));
        r.add(row("a trailing comma", chat(LIMITED, "{\"model\":\"fake-model\",}"), refused(400)));
        r.add(row("NaN", chat(LIMITED, "{\"model\":\"fake-model\",\"temperature\":NaN}"), refused(400)));
        r.add(row("model as a number", chat(LIMITED, "{\"model\":123}"), refused(403)));
        r.add(row("model null", chat(LIMITED, "{\"model\":null}"), refused(403)));
        r.add(row("model with an escaped NUL", chat(LIMITED, "{\"model\":\"fake-model\\u0000\"}"), refused(403)));
        r.add(row("model with a trailing space", chat(LIMITED, "{\"model\":\"fake-model \"}"), refused(403)));
        r.add(row("an alias onto a forbidden model", chat(LIMITED, "{\"model\":\"sneaky\"}"), refused(403)));
        r.add(row("an alias onto the allowed model", chat(LIMITED, "{\"model\":\"nice\"}"), served()));
        r.add(row("JSON with trailing garbage", chat(OPEN, "{\"model\":\"m\"} {}"), refused(400)));
        r.add(row("a JSON array", chat(OPEN, "[1,2,3]"), refused(400)));
        r.add(row("JSON nested 5000 deep", chat(OPEN, "{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}"), refused(400)));
        r.add(row("invalid UTF-8 in a string", chatBytes(OPEN, concat(bytes("{\"model\":\"m\",\"x\":\""),
                new byte[] {(byte) 0xC3, (byte) 0x28, (byte) 0xFF}, bytes("\"}"))), refused(400)));
        r.add(row("an empty body on a JSON endpoint", chat(OPEN, ""), refused(400)));
        r.add(row("text/plain on a JSON endpoint", postRequest(CHAT, OPEN, "text/plain", bytes(body)), refused(415)));
        r.add(row("multipart on a JSON endpoint", postRequest(CHAT, OPEN, MULTIPART, bytes(part("model", "m"))), refused(415)));
        // --- and afterwards, a normal request is served
        r.add(row("a normal chat request", chat(LIMITED, "{\"model\":\"fake-model\",\"messages\":[]}"), served()));
        return r;
    }

    private final WireMockServer upstream = TestEnv.upstream();

    @BeanInject("bufferBudget")
    BufferBudget budget;

    @BeforeEach
    void upstreamAnswers() {
        upstream.resetAll();
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"ok\":true}")));
        upstream.stubFor(get(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"data\":[]}")));
    }

    @Test
    void the_table_has_at_least_60_rows_and_ends_with_a_normal_request() {
        List<Arguments> rows = rows();
        assertTrue(rows.size() >= 60, "rows: " + rows.size());
        assertEquals(served(), rows.get(rows.size() - 1).get()[1]);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("rows")
    void hostile_input(byte[] request, Expect expect) throws Exception {
        RawHttp.Reply reply = RawHttp.send(TestEnv.proxyPort(), request, 1500);
        assertEquals(expect.status(), reply.status(), reply.toString());
        assertTrue(reply.statuses().size() <= 1, "one answer only (nothing behind it served): " + reply);
        if (expect.proxyCloses()) {
            assertTrue(reply.closed(), "the proxy closed the connection itself: " + reply);
        }
        assertFalse(reply.text().contains("Exception") || reply.text().contains("\tat "), "no stack trace: " + reply);
        if (expect.status() >= 400) {
            assertTrue(reply.text().contains("{\"error\":{\"message\":"), "an OpenAI-shaped error: " + reply);
            assertFalse(reply.text().toLowerCase().contains("set-cookie"), "nothing injected into the answer: " + reply);
        }
        if (expect.upstreamUntouched()) {
            assertEquals(0, upstream.getAllServeEvents().size(), "nothing reached the upstream");
        } else {
            assertEquals(1, upstream.getAllServeEvents().size(), "forwarded once");
            assertFalse(upstream.getAllServeEvents().get(0).getRequest().getBodyAsString().contains("fake-model-mini"));
        }
    }

    @Test
    void pipelined_requests_are_answered_in_order_and_a_refused_body_is_never_read_as_a_request() throws Exception {
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"ok\":true}")));
        String inner = "{\"model\":\"smuggled\"}";
        String smuggled = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth(OPEN)
                + "Content-Length: " + inner.length() + "\r\n\r\n" + inner;
        String first = "{\"model\":\"first\"}";
        String third = "{\"model\":\"third\"}";
        byte[] pipeline = bytes("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth(OPEN)
                + "Content-Type: application/json\r\nContent-Length: " + first.length() + "\r\n\r\n" + first
                // refused by its key before its body is read: the body (a whole request) must be skipped, not served
                + "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-wrong\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + smuggled.length() + "\r\n\r\n" + smuggled
                + "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth(OPEN) + "Connection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + third.length() + "\r\n\r\n" + third);
        RawHttp.Reply reply = RawHttp.send(TestEnv.proxyPort(), pipeline, 5000);
        assertEquals(List.of(200, 401, 200), reply.statuses(), reply.toString());
        assertTrue(reply.closed(), "closed after the request that asked for it: " + reply);
        List<String> seen = upstream.getAllServeEvents().stream().map(e -> e.getRequest().getBodyAsString()).toList();
        assertEquals(List.of(third, first), seen, "what reached the upstream, newest first");
    }

    @Test
    void bodies_past_the_memory_budget_get_503_until_the_budget_is_given_back() throws Exception {
        byte[] held = padded("m", 2_000_000);
        byte[] other = chatBytes(OPEN, padded("m", 1_500_000));
        try (java.net.Socket first = new java.net.Socket("127.0.0.1", TestEnv.proxyPort())) {
            first.setSoTimeout(5000);
            byte[] request = chatBytes(OPEN, held);
            int headLength = request.length - held.length;
            first.getOutputStream().write(request, 0, headLength + 10); // 2,000,000 bytes taken, 10 sent
            first.getOutputStream().flush();
            RawHttp.Reply refused = null;
            for (int i = 0; i < 50 && (refused == null || refused.status() != 503); i++) { // until the first is read
                refused = RawHttp.send(TestEnv.proxyPort(), other, 1500);
            }
            assertEquals(503, refused.status(), refused.toString());
            assertTrue(refused.text().contains("\"code\":\"service_unavailable\""), refused.toString());
            assertTrue(refused.text().toLowerCase().contains("retry-after: 1"), refused.toString());
            first.getOutputStream().write(request, headLength + 10, request.length - headLength - 10);
            first.getOutputStream().flush();
            RawHttp.Reply answered = RawHttp.read(first.getInputStream());
            assertEquals(200, answered.status(), answered.toString());
        }
        // the first request has ended: its bytes are back in the budget, the same body now passes
        RawHttp.Reply next = RawHttp.send(TestEnv.proxyPort(), other, 3000);
        assertEquals(200, next.status(), next.toString());
        Await.until(5, "the budget given back", () -> budget.used() == 0 ? true : null);
    }

    @Test
    void a_client_that_leaves_mid_body_gives_its_bytes_back() throws Exception {
        byte[] request = chatBytes(OPEN, padded("m", 2_000_000));
        for (int i = 0; i < 3; i++) { // three times 2,000,000 would not fit in 3,000,000 if any were kept
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", TestEnv.proxyPort())) {
                s.getOutputStream().write(request, 0, 500_000);
                s.getOutputStream().flush();
                Await.until(5, "the body being read", () -> budget.used() >= 2_000_000 ? true : null);
                s.setSoLinger(true, 0); // a reset mid-upload
            }
            Await.until(5, "the budget given back after the disconnect", () -> budget.used() == 0 ? true : null);
        }
        RawHttp.Reply next = RawHttp.send(TestEnv.proxyPort(), chatBytes(OPEN, padded("m", 2_000_000)), 3000);
        assertEquals(200, next.status(), next.toString());
        assertEquals(1, upstream.getAllServeEvents().size(), "only the complete body was forwarded");
    }

    @Test
    void abrupt_disconnects_leave_the_proxy_serving() throws Exception {
        String[] cut = {"POST /v1/chat/comp", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth(OPEN)
                + "Content-Length: 50\r\n\r\n{\"model\":", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth(OPEN)
                + "Content-Length: 2\r\n\r\n{}"};
        for (int i = 0; i < 30; i++) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", TestEnv.proxyPort())) {
                s.setSoLinger(true, 0); // a reset, not a polite close
                s.getOutputStream().write(bytes(cut[i % cut.length]));
            }
        }
        RawHttp.Reply reply = RawHttp.send(TestEnv.proxyPort(), chat(OPEN, "{\"model\":\"m\"}"), 3000);
        assertEquals(200, reply.status(), reply.toString());
    }
}
