package org.camelopenaiproxy.route;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Errors the proxy makes itself: always OpenAI-shaped, with the right status, never a hang. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.max-request-bytes=1024", "proxy.limits.max-json-bytes=1024"})
class ErrorsTest {

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("{}")));
    }

    @Test
    void unknown_paths_get_404() throws Exception {
        assertOpenAiError(client.send(client.authorized("/v2/chat/completions").GET().build()), 404, "unknown_url");
        assertOpenAiError(client.send(client.authorized("/").GET().build()), 404, "unknown_url");
        assertOpenAiError(client.send(client.authorized("/v1").GET().build()), 404, "unknown_url");
        assertOpenAiError(client.send(client.authorized("/v1/../admin").GET().build()), 400, "invalid_path");
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void unsupported_methods_get_405_with_allow() throws Exception {
        HttpResponse<String> response = client.send(client.authorized("/v1/chat/completions")
                .PUT(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertOpenAiError(response, 405, "method_not_allowed");
        assertEquals("GET, POST, DELETE", response.headers().firstValue("allow").orElse(null));
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void declared_body_over_the_limit_is_refused_before_it_is_sent() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", TestEnv.proxyPort())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TestEnv.CLIENT_KEY
                       + "\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{\"model\":")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush(); // the other 49,999,991 bytes are never sent: the answer must not wait for them
            String head = readHead(socket.getInputStream());
            assertTrue(head.startsWith("HTTP/1.1 413"), head);
            assertTrue(head.toLowerCase().contains("connection: close"), head);
        }
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void a_request_refused_before_its_body_was_read_keeps_its_connection() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", TestEnv.proxyPort())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            String body = "{\"model\":\"gpt-4o\"}";
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-wrong\r\n"
                       + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush(); // the key is wrong: the 401 comes before the body is sent
            String refused = readHead(in);
            assertTrue(refused.startsWith("HTTP/1.1 401"), refused);
            assertTrue(!refused.toLowerCase().contains("connection: close"), refused);
            in.readNBytes(contentLength(refused));
            out.write(body.getBytes(StandardCharsets.US_ASCII)); // read and dropped by the proxy
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TestEnv.CLIENT_KEY
                       + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String next = readHead(in);
            assertTrue(next.startsWith("HTTP/1.1 200"), next);
        }
        assertEquals(1, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void a_refused_request_gets_all_of_its_answer_though_its_body_comes_after_it() throws Exception {
        // closing a connection with body bytes still coming resets it, and the client loses the answer
        for (int size : new int[] {200, 64 * 1024}) { // kept alive to be read, and past the limit: lingering close
            String body = "{\"model\":\"gpt-4o\",\"pad\":\"" + "x".repeat(size) + "\"}";
            try (Socket socket = new Socket("127.0.0.1", TestEnv.proxyPort())) {
                socket.setSoTimeout(5000);
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-wrong\r\n"
                           + "Connection: close\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                           + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String head = readHead(in);
                assertTrue(head.startsWith("HTTP/1.1 401"), head);
                out.write(body.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String rest = new String(in.readAllBytes(), StandardCharsets.US_ASCII); // then a clean end, no reset
                assertTrue(rest.contains("\"code\":\"invalid_api_key\""), size + " bytes: " + rest);
            }
        }
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void a_client_expecting_100_continue_is_told_to_go_on() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", TestEnv.proxyPort())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TestEnv.CLIENT_KEY
                       + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long start = System.nanoTime();
            String interim = readHead(socket.getInputStream());
            assertTrue(interim.startsWith("HTTP/1.1 100"), interim);
            assertTrue(System.nanoTime() - start < 900_000_000L, "100 Continue came too late for curl's 1 s wait");
            out.write("{}".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertTrue(readHead(socket.getInputStream()).startsWith("HTTP/1.1 200"));
        }
    }

    @Test
    void chunked_body_over_the_limit_is_refused() throws Exception {
        byte[] big = new byte[5000];
        java.util.Arrays.fill(big, (byte) 'a');
        HttpResponse<String> response = client.send(client.authorized("/v1/chat/completions")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build());
        assertOpenAiError(response, 413, "request_too_large");
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void body_within_the_limit_passes() throws Exception {
        assertEquals(200, client.postJson("/v1/chat/completions", "{\"model\":\"x\"}").statusCode());
    }

    @Test
    void health_answers_without_a_client_key() throws Exception {
        HttpResponse<String> health = client.send(client.request("/observe/health").GET().build());
        assertEquals(200, health.statusCode());
        assertTrue(health.body().contains("UP"), health.body());
    }

    static int contentLength(String head) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    static String readHead(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            head.append((char) c);
            if (head.toString().endsWith("\r\n\r\n")) {
                break;
            }
        }
        return head.toString();
    }
}
