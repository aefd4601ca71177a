package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.AfterEach;
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

@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.config.poll-ms=100"})
class AuthTest {

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("configWatcher")
    ConfigWatcher watcher;

    @BeforeEach
    void reset() throws Exception {
        upstream.resetAll();
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("{}")));
    }

    @AfterEach
    void restoreKeys() throws Exception {
        TestEnv.writeKeys(TestEnv.keysFile(), "test-team", TestEnv.CLIENT_KEY);
    }

    private HttpResponse<String> chat(String headerName, String headerValue) throws Exception {
        HttpRequest.Builder b = client.request("/v1/chat/completions").header("Content-Type", "application/json");
        if (headerName != null) {
            b.header(headerName, headerValue);
        }
        return client.send(b.POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\"}")).build());
    }

    @Test
    void missing_key_gets_401_and_nothing_is_forwarded() throws Exception {
        assertOpenAiError(chat(null, null), 401, "invalid_api_key");
        assertOpenAiError(chat("Authorization", "Bearer "), 401, "invalid_api_key");
        assertOpenAiError(chat("Authorization", "Basic dXNlcjpwYXNz"), 401, "invalid_api_key");
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void unknown_key_gets_401_without_echoing_the_key() throws Exception {
        HttpResponse<String> response = chat("Authorization", "Bearer sk-proxy-not-a-real-key-123");
        assertOpenAiError(response, 401, "invalid_api_key");
        assertFalse(response.body().contains("sk-proxy-not-a-real-key-123"));
        assertOpenAiError(chat("api-key", "wrong"), 401, "invalid_api_key");
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void key_is_accepted_as_bearer_token_or_api_key_header() throws Exception {
        assertEquals(200, chat("Authorization", "Bearer " + TestEnv.CLIENT_KEY).statusCode());
        assertEquals(200, chat("authorization", "bearer " + TestEnv.CLIENT_KEY).statusCode());
        assertEquals(200, chat("api-key", TestEnv.CLIENT_KEY).statusCode());
    }

    @Test
    void editing_the_keys_file_takes_effect_without_restart() throws Exception {
        assertEquals(401, chat("Authorization", "Bearer " + TestEnv.OTHER_CLIENT_KEY).statusCode());

        TestEnv.writeKeys(TestEnv.keysFile(), "other-team", TestEnv.OTHER_CLIENT_KEY);

        assertTrue(eventually(() -> chat("Authorization", "Bearer " + TestEnv.OTHER_CLIENT_KEY).statusCode() == 200),
                "new key not accepted after the file changed");
        assertEquals(401, chat("Authorization", "Bearer " + TestEnv.CLIENT_KEY).statusCode(), "removed key still accepted");
    }

    @Test
    void a_broken_keys_file_keeps_the_previous_keys_in_force() throws Exception {
        java.nio.file.Files.writeString(TestEnv.keysFile(), "keys:\n  - name: [unclosed\n");
        watcher.checkNow();
        assertEquals(200, chat("Authorization", "Bearer " + TestEnv.CLIENT_KEY).statusCode());

        java.nio.file.Files.writeString(TestEnv.keysFile(), "keys:\n  - name: x\n    key_sha256: not-hex\n");
        watcher.checkNow();
        assertEquals(200, chat("Authorization", "Bearer " + TestEnv.CLIENT_KEY).statusCode());
    }

    static boolean eventually(java.util.concurrent.Callable<Boolean> check) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (check.call()) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }
}
