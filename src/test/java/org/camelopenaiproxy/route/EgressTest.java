package org.camelopenaiproxy.route;

import java.net.http.HttpResponse;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ConnectProxy;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.SelfSignedTls;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.camelopenaiproxy.support.WebSocketUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Upstreams reached through an egress proxy (a real CONNECT / forwarding proxy with Basic auth,
 * started here): JSON, a stream and a WebSocket pass through it and the upstream sees the proxy's
 * connections; TLS with a deployment's own CA file, through the proxy; TLS without it fails (never
 * trust-all); a made-up host name reached through a DNS override.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.KEYS, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.upstreams.file={{sys:test.egress.upstreams}}", "proxy.retry.initial-delay-ms=10",
            "proxy.retry.max-attempts=2"})
class EgressTest {

    static final String EGRESS_USER = "egress-user";
    static final String EGRESS_PASSWORD = "s3cret@pw";
    static final WebSocketUpstream PLAIN;
    static final WebSocketUpstream TLS;
    static final ConnectProxy EGRESS;
    static final Vertx CLIENT_VERTX = Vertx.vertx();
    static final WebSocketClient WS = CLIENT_VERTX.createWebSocketClient();

    static {
        try {
            SelfSignedTls cert = SelfSignedTls.create();
            PLAIN = new WebSocketUpstream();
            TLS = new WebSocketUpstream(cert.serverOptions());
            EGRESS = new ConnectProxy(EGRESS_USER, EGRESS_PASSWORD);
            PLAIN.http(EgressTest::answer);
            TLS.http(EgressTest::answer);
            String proxy = "http://" + EGRESS_USER + ":s3cret%40pw@127.0.0.1:" + EGRESS.port();
            TestSetup.named("egress").upstreams("""
                    upstreams:
                      - name: via-proxy
                        base_url: http://127.0.0.1:%1$d/v1
                        api_key_env: TEST_EGRESS_UPSTREAM_KEY
                        egress_proxy: %3$s
                        models: ["proxied-*"]
                      - name: tls-via-proxy
                        base_url: https://localhost:%2$d/v1
                        api_key_env: TEST_EGRESS_UPSTREAM_KEY
                        ca_file: %4$s
                        egress_proxy: %3$s
                        models: ["tls-*"]
                      - name: tls-untrusted
                        base_url: https://localhost:%2$d/v1
                        api_key_env: TEST_EGRESS_UPSTREAM_KEY
                        egress_proxy: none
                        models: ["untrusted-*"]
                      - name: renamed
                        base_url: http://upstream.invalid.example:%1$d/v1
                        api_key_env: TEST_EGRESS_UPSTREAM_KEY
                        address: 127.0.0.1
                        egress_proxy: none
                        models: ["dns-*"]
                      - name: via-socks
                        base_url: http://127.0.0.1:%1$d/v1
                        api_key_env: TEST_EGRESS_UPSTREAM_KEY
                        egress_proxy: %6$s
                        models: ["socks-*"]
                      - name: refused-credentials
                        base_url: http://127.0.0.1:%1$d/v1
                        api_key_env: TEST_EGRESS_UPSTREAM_KEY
                        egress_proxy: http://egress-user:wrong@127.0.0.1:%5$d
                        models: ["badauth-*"]
                    """.formatted(PLAIN.port(), TLS.port(), proxy, cert.caPem(), EGRESS.port(),
                            proxy.replace("http://", "socks5://")))
                    .secret("TEST_EGRESS_UPSTREAM_KEY", TestEnv.UPSTREAM_KEY);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    /** JSON, or three SSE events and [DONE] when the body asks for a stream. */
    static void answer(HttpServerRequest req) {
        req.body().onSuccess(body -> {
            if (body.toString().contains("\"stream\":true")) {
                req.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
                for (int i = 0; i < 3; i++) {
                    req.response().write("data: {\"i\":" + i + "}\n\n");
                }
                req.response().end("data: [DONE]\n\n");
            } else {
                req.response().putHeader("Content-Type", "application/json")
                        .end("{\"object\":\"chat.completion\",\"host\":\"" + req.getHeader("Host") + "\"}");
            }
        });
    }

    @AfterAll
    static void stop() throws Exception {
        PLAIN.close();
        TLS.close();
        EGRESS.close();
        CLIENT_VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void reset() {
        PLAIN.reset();
        TLS.reset();
        EGRESS.reset();
    }

    private HttpResponse<String> chat(String model, boolean stream) throws Exception {
        return client.postJson("/v1/chat/completions", "{\"model\":\"" + model + "\",\"stream\":" + stream + "}");
    }

    private WebSocket realtime(String model, LinkedBlockingQueue<String> texts) throws Exception {
        return WS.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(TestEnv.proxyPort())
                        .setURI("/v1/realtime?model=" + model)
                        .setHeaders(HttpHeaders.headers().add("Authorization", "Bearer " + TestEnv.CLIENT_KEY)))
                .map(ws -> {
                    ws.textMessageHandler(texts::add);
                    return ws;
                })
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static void assertCameThroughTheProxy(WebSocketUpstream upstream, int remotePort) {
        assertTrue(EGRESS.outgoingPorts().contains(remotePort),
                "the upstream's peer port " + remotePort + " is not one of the egress proxy's connections");
    }

    @Test
    void json_and_a_stream_go_through_the_egress_proxy() throws Exception {
        HttpResponse<String> json = chat("proxied-json", false);
        assertEquals(200, json.statusCode(), json.body());
        assertTrue(json.body().contains("chat.completion"));

        HttpResponse<String> stream = chat("proxied-stream", true);
        assertEquals(200, stream.statusCode());
        assertEquals("data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\ndata: [DONE]\n\n", stream.body());

        assertEquals(2, PLAIN.httpRequests().size());
        for (WebSocketUpstream.Handshake seen : PLAIN.httpRequests()) {
            assertCameThroughTheProxy(PLAIN, seen.remotePort());
            assertEquals("Bearer " + TestEnv.UPSTREAM_KEY, seen.headers().get("Authorization"));
        }
        assertTrue(EGRESS.tunnels().stream().anyMatch(t -> t.target().equals("127.0.0.1:" + PLAIN.port())),
                "the egress proxy saw no request for the upstream: " + EGRESS.tunnels());
    }

    @Test
    void a_websocket_is_tunnelled_through_the_egress_proxy() throws Exception {
        LinkedBlockingQueue<String> texts = new LinkedBlockingQueue<>();
        WebSocket ws = realtime("proxied-realtime", texts);
        assertEquals(WebSocketUpstream.GREETING, texts.poll(10, TimeUnit.SECONDS));
        ws.writeTextMessage("{\"type\":\"response.create\"}");
        assertEquals("{\"type\":\"response.create\"}", texts.poll(10, TimeUnit.SECONDS));
        ws.close();

        assertEquals(1, PLAIN.handshakes().size());
        assertCameThroughTheProxy(PLAIN, PLAIN.handshakes().get(0).remotePort());
        assertTrue(EGRESS.tunnels().contains(new ConnectProxy.Tunnel("CONNECT", "127.0.0.1:" + PLAIN.port())),
                EGRESS.tunnels().toString());
    }

    @Test
    void tls_to_the_upstream_with_its_own_ca_file_works_through_the_egress_proxy() throws Exception {
        HttpResponse<String> json = chat("tls-json", false);
        assertEquals(200, json.statusCode(), json.body());
        assertEquals(1, TLS.httpRequests().size());
        assertCameThroughTheProxy(TLS, TLS.httpRequests().get(0).remotePort());
        assertTrue(EGRESS.tunnels().contains(new ConnectProxy.Tunnel("CONNECT", "localhost:" + TLS.port())),
                EGRESS.tunnels().toString());

        HttpResponse<String> stream = chat("tls-stream", true);
        assertTrue(stream.body().endsWith("data: [DONE]\n\n"), stream.body());

        LinkedBlockingQueue<String> texts = new LinkedBlockingQueue<>();
        WebSocket ws = realtime("tls-realtime", texts);
        assertEquals(WebSocketUpstream.GREETING, texts.poll(10, TimeUnit.SECONDS));
        ws.close();
        assertCameThroughTheProxy(TLS, TLS.handshakes().get(0).remotePort());
    }

    @Test
    void tls_to_an_upstream_whose_certificate_is_not_trusted_fails() throws Exception {
        assertOpenAiError(chat("untrusted-json", false), 502, "upstream_tls_error");
        assertEquals(0, TLS.httpRequests().size(), "a request crossed an untrusted TLS connection");
        try {
            realtime("untrusted-realtime", new LinkedBlockingQueue<>()).close();
            throw new AssertionError("the WebSocket crossed an untrusted TLS connection");
        } catch (java.util.concurrent.ExecutionException refused) {
            assertTrue(refused.getCause() instanceof io.vertx.core.http.UpgradeRejectedException r && r.getStatus() == 502,
                    String.valueOf(refused.getCause()));
        }
        assertEquals(0, TLS.handshakes().size());
    }

    @Test
    void a_dns_override_reaches_a_host_name_that_does_not_resolve() throws Exception {
        HttpResponse<String> json = chat("dns-json", false);
        assertEquals(200, json.statusCode(), json.body());
        assertTrue(json.body().contains("\"host\":\"upstream.invalid.example:" + PLAIN.port() + "\""), json.body());
        assertFalse(EGRESS.outgoingPorts().contains(PLAIN.httpRequests().get(0).remotePort()),
                "egress_proxy: none went through the proxy");

        LinkedBlockingQueue<String> texts = new LinkedBlockingQueue<>();
        WebSocket ws = realtime("dns-realtime", texts);
        assertEquals(WebSocketUpstream.GREETING, texts.poll(10, TimeUnit.SECONDS));
        ws.close();
        assertEquals("upstream.invalid.example:" + PLAIN.port(), PLAIN.handshakes().get(0).headers().get("Host"));
    }

    @Test
    void socks5_carries_json_and_a_websocket() throws Exception {
        HttpResponse<String> json = chat("socks-json", false);
        assertEquals(200, json.statusCode(), json.body());
        assertCameThroughTheProxy(PLAIN, PLAIN.httpRequests().get(0).remotePort());

        LinkedBlockingQueue<String> texts = new LinkedBlockingQueue<>();
        WebSocket ws = realtime("socks-realtime", texts);
        assertEquals(WebSocketUpstream.GREETING, texts.poll(10, TimeUnit.SECONDS));
        ws.close();
        assertCameThroughTheProxy(PLAIN, PLAIN.handshakes().get(0).remotePort());
        assertTrue(EGRESS.tunnels().stream().allMatch(t -> t.method().equals("SOCKS5")
                && t.target().endsWith(":" + PLAIN.port())), EGRESS.tunnels().toString());
        assertEquals(2, EGRESS.tunnels().size(), "one tunnel for the HTTP connection, one for the WebSocket");
    }

    @Test
    void wrong_egress_credentials_fail_the_call_without_reaching_the_upstream() throws Exception {
        HttpResponse<String> r = chat("badauth-json", false);
        assertOpenAiError(r, 502, "upstream_unreachable");
        assertTrue(EGRESS.refused() >= 1);
        assertEquals(0, PLAIN.httpRequests().size());
        assertFalse(r.body().contains("wrong"), "credentials leaked into the error");

        try {
            realtime("badauth-realtime", new LinkedBlockingQueue<>()).close();
            throw new AssertionError("the WebSocket went through without the egress proxy's consent");
        } catch (java.util.concurrent.ExecutionException refused) {
            io.vertx.core.http.UpgradeRejectedException e =
                    (io.vertx.core.http.UpgradeRejectedException) refused.getCause();
            assertEquals(502, e.getStatus());
            assertFalse(e.getBody().toString().contains("wrong"), "credentials leaked into the error");
        }
        assertEquals(0, PLAIN.handshakes().size());
    }
}
