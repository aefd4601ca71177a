package org.camelopenaiproxy.route;

import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A key's {@code allowed_ips}: requests (and WebSocket upgrades) from elsewhere get 403
 * {@code ip_not_allowed} and never reach the upstream. The test client is always 127.0.0.1, which is
 * also the trusted proxy here, so {@code X-Forwarded-For} stands in for other client addresses.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.keys.file={{sys:test.ip.keys}}", "proxy.config.poll-ms=60000",
            "proxy.trusted-proxies=127.0.0.1/32, ::1"})
class IpAllowListTest {

    static final String LOCAL = "sk-proxy-ip-local-0001";
    static final String OFFICE = "sk-proxy-ip-office-0002";
    static final String ANYWHERE = "sk-proxy-ip-anywhere-0003";
    static final String KEYS = """
            keys:
              - name: local
                key_sha256: {{hash:sk-proxy-ip-local-0001}}
                allowed_ips: ["127.0.0.0/8", "::1"]
              - name: office
                key_sha256: {{hash:sk-proxy-ip-office-0002}}
                allowed_ips: ["10.0.0.0/8", "2001:db8::/32"]
              - name: anywhere
                key_sha256: {{hash:sk-proxy-ip-anywhere-0003}}
            """;
    static final Path KEYS_FILE = TestSetup.named("ip").keys(KEYS).keysFile();
    static final Vertx CLIENT_VERTX = Vertx.vertx();
    static final WebSocketClient WS_CLIENT = CLIENT_VERTX.createWebSocketClient();


    private final WireMockServer upstream = TestEnv.upstream();
    static final String GPT_4O = "{\"model\":\"gpt-4o\"}";

    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("configWatcher")
    ConfigWatcher watcher;

    @AfterAll
    static void stop() throws Exception {
        CLIENT_VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{}")));
    }

    @AfterEach
    void restoreKeys() throws Exception {
        TestEnv.rewriteKeys(KEYS_FILE, KEYS);
        watcher.checkNow();
    }

    private int forwarded() {
        return upstream.findAll(anyRequestedFor(anyUrl())).size();
    }

    @Test
    void a_key_is_served_from_an_allowed_address() throws Exception {
        assertEquals(200, client.chat(LOCAL, GPT_4O).statusCode());
        assertEquals(200, client.chat(ANYWHERE, GPT_4O).statusCode(), "no allowed_ips: any address");
        assertEquals(2, forwarded());
    }

    @Test
    void a_key_is_refused_from_another_address_and_nothing_is_forwarded() throws Exception {
        JsonNode error = assertOpenAiError(client.chat(OFFICE, GPT_4O), 403, "ip_not_allowed");
        assertTrue(error.path("message").asText().contains("'office'"), error.toString());
        assertTrue(error.path("message").asText().contains("127.0.0.1"), error.toString());
        assertEquals(0, forwarded());
    }

    @Test
    void behind_a_trusted_proxy_the_forwarded_address_counts() throws Exception {
        assertEquals(200, client.chat(OFFICE, GPT_4O, "X-Forwarded-For", "10.1.2.3").statusCode());
        assertEquals(200, client.chat(OFFICE, GPT_4O, "X-Forwarded-For", "2001:db8::7").statusCode());
        assertOpenAiError(client.chat(LOCAL, GPT_4O, "X-Forwarded-For", "10.1.2.3"), 403, "ip_not_allowed");
        // a client cannot pick its address: the trusted hop appended the real one, which is not allowed
        assertOpenAiError(client.chat(OFFICE, GPT_4O, "X-Forwarded-For", "10.1.2.3, 203.0.113.5"), 403, "ip_not_allowed");
        assertOpenAiError(client.chat(OFFICE, GPT_4O, "X-Forwarded-For", "not-an-address"), 403, "ip_not_allowed");
        assertEquals(2, forwarded());
    }

    @Test
    void a_websocket_upgrade_from_another_address_is_refused_before_the_upstream() throws Exception {
        UpgradeRejectedException refused = refused(OFFICE);
        assertEquals(403, refused.getStatus());
        JsonNode error = new ObjectMapper().readTree(refused.getBody().toString()).path("error");
        assertEquals("ip_not_allowed", error.path("code").asText(), refused.getBody().toString());
        assertEquals(0, forwarded());
        // the allowed key passes the check (the upstream here speaks no WebSocket: its refusal comes back)
        UpgradeRejectedException allowed = refused(LOCAL);
        assertNotEquals(403, allowed.getStatus());
        assertEquals(1, forwarded(), "the allowed handshake went upstream");
    }

    private UpgradeRejectedException refused(String key) throws Exception {
        WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1")
                .setPort(TestEnv.proxyPort()).setURI("/v1/realtime?model=gpt-4o-realtime-preview")
                .setHeaders(HttpHeaders.headers().add("Authorization", "Bearer " + key));
        try {
            WS_CLIENT.connect(options).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).close();
            throw new AssertionError("the handshake was accepted");
        } catch (ExecutionException e) {
            return assertInstanceOf(UpgradeRejectedException.class, e.getCause());
        }
    }

    @Test
    void a_bad_block_in_an_edit_keeps_the_previous_keys_and_a_good_edit_applies() throws Exception {
        // broken: were it applied, 'local' would be gone (401)
        TestEnv.rewriteKeys(KEYS_FILE, "keys:\n  - name: office\n    key_sha256: {{hash:" + OFFICE + "}}\n"
                + "    allowed_ips: [\"10.0.0.0/33\"]\n");
        watcher.checkNow();
        assertEquals(200, client.chat(LOCAL, GPT_4O).statusCode());

        TestEnv.rewriteKeys(KEYS_FILE, "keys:\n  - name: local\n    key_sha256: {{hash:" + LOCAL + "}}\n"
                + "    allowed_ips: [\"10.0.0.0/8\"]\n");
        watcher.checkNow();
        assertOpenAiError(client.chat(LOCAL, GPT_4O), 403, "ip_not_allowed");
    }
}
