package org.camelopenaiproxy.route;

import java.net.http.HttpResponse;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Await;
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

@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.config.poll-ms=100"})
class AuthTest {

    private final WireMockServer upstream = TestEnv.upstream();
    static final String GPT_4O = "{\"model\":\"gpt-4o\"}";

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

    @Test
    void missing_key_gets_401_and_nothing_is_forwarded() throws Exception {
        assertOpenAiError(client.chat(null, GPT_4O), 401, "invalid_api_key");
        assertOpenAiError(client.chat(null, GPT_4O, "Authorization", "Bearer "), 401, "invalid_api_key");
        assertOpenAiError(client.chat(null, GPT_4O, "Authorization", "Basic dXNlcjpwYXNz"), 401, "invalid_api_key");
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void unknown_key_gets_401_without_echoing_the_key() throws Exception {
        HttpResponse<String> response = client.chat(null, GPT_4O, "Authorization", "Bearer sk-proxy-not-a-real-key-123");
        assertOpenAiError(response, 401, "invalid_api_key");
        assertFalse(response.body().contains("sk-proxy-not-a-real-key-123"));
        assertOpenAiError(client.chat(null, GPT_4O, "api-key", "wrong"), 401, "invalid_api_key");
        assertEquals(0, upstream.findAll(anyRequestedFor(anyUrl())).size());
    }

    @Test
    void key_is_accepted_as_bearer_token_or_api_key_header() throws Exception {
        assertEquals(200, client.chat(TestEnv.CLIENT_KEY, GPT_4O).statusCode());
        assertEquals(200, client.chat(null, GPT_4O, "authorization", "bearer " + TestEnv.CLIENT_KEY).statusCode());
        assertEquals(200, client.chat(null, GPT_4O, "api-key", TestEnv.CLIENT_KEY).statusCode());
    }

    @Test
    void editing_the_keys_file_takes_effect_without_restart() throws Exception {
        assertEquals(401, client.chat(TestEnv.OTHER_CLIENT_KEY, GPT_4O).statusCode());

        TestEnv.writeKeys(TestEnv.keysFile(), "other-team", TestEnv.OTHER_CLIENT_KEY);

        Await.that(10, "the new key accepted after the file changed",
                () -> client.chat(TestEnv.OTHER_CLIENT_KEY, GPT_4O).statusCode() == 200);
        assertEquals(401, client.chat(TestEnv.CLIENT_KEY, GPT_4O).statusCode(), "removed key still accepted");
    }

    @Test
    void a_broken_keys_file_keeps_the_previous_keys_in_force() throws Exception {
        java.nio.file.Files.writeString(TestEnv.keysFile(), "keys:\n  - name: [unclosed\n");
        watcher.checkNow();
        assertEquals(200, client.chat(TestEnv.CLIENT_KEY, GPT_4O).statusCode());

        java.nio.file.Files.writeString(TestEnv.keysFile(), "keys:\n  - name: x\n    key_sha256: not-hex\n");
        watcher.checkNow();
        assertEquals(200, client.chat(TestEnv.CLIENT_KEY, GPT_4O).statusCode());
    }
}
