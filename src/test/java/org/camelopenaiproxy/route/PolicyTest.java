package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Per-key allow-lists, expiry, disabling and model aliases, from keys.yaml. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.keys.file={{sys:test.policy.keys}}"})
class PolicyTest {

    static final String KEYS = """
            aliases:
              fast: gpt-4o-mini
              smart: gpt-4o
            keys:
              - name: models-only
                key_sha256: {{hash:sk-models}}
                models: ["gpt-4o*", "text-embedding-3-small", "whisper-1"]
              - name: embeddings-only
                key_sha256: {{hash:sk-embeddings}}
                endpoints: ["/v1/embeddings"]
              - name: expired
                key_sha256: {{hash:sk-expired}}
                expires_at: 2020-01-01T00:00:00Z
              - name: not-yet-expired
                key_sha256: {{hash:sk-future}}
                expires_at: 2999-01-01T00:00:00Z
              - name: disabled
                key_sha256: {{hash:sk-disabled}}
                disabled: true
              - name: own-alias
                key_sha256: {{hash:sk-own-alias}}
                aliases: { smart: o3-mini }
            """;
    static final Path KEYS_FILE = TestSetup.named("policy").keys(KEYS).keysFile();


    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("configWatcher")
    ConfigWatcher watcher;

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(com.github.tomakehurst.wiremock.client.WireMock.post(anyUrl()).willReturn(aResponse().withStatus(200)
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
    void model_allow_list_admits_matching_models_and_refuses_others() throws Exception {
        assertEquals(200, client.post("/v1/chat/completions", "sk-models", "{\"model\":\"gpt-4o-mini\"}").statusCode());
        assertEquals(200, client.post("/v1/embeddings", "sk-models", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}").statusCode());
        assertEquals(2, forwarded());

        JsonNode error = assertOpenAiError(client.post("/v1/chat/completions", "sk-models",
                "{\"messages\":[],\"model\":\"gpt-3.5-turbo\"}"), 403, "model_not_allowed");
        assertEquals("model", error.get("param").asText());
        assertEquals(true, error.get("message").asText().contains("gpt-3.5-turbo"));
        assertEquals(2, forwarded(), "a refused request must not reach the upstream");
    }

    @Test
    void model_allow_list_applies_to_multipart_bodies_too() throws Exception {
        String boundary = "b0undary";
        String form = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ntts-secret\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n\r\nabc\r\n--"
                + boundary + "--\r\n";
        HttpResponse<String> response = client.send(client.request("/v1/audio/transcriptions")
                .header("Authorization", "Bearer sk-models")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(form)).build());
        assertOpenAiError(response, 403, "model_not_allowed");
        assertEquals(0, forwarded());
    }

    @Test
    void endpoint_allow_list_refuses_other_endpoints() throws Exception {
        assertEquals(200, client.post("/v1/embeddings", "sk-embeddings", "{\"model\":\"text-embedding-3-small\"}").statusCode());
        JsonNode error = assertOpenAiError(client.post("/v1/chat/completions", "sk-embeddings", "{\"model\":\"gpt-4o\"}"),
                403, "endpoint_not_allowed");
        assertEquals(true, error.get("message").asText().contains("/v1/chat/completions"));
        assertEquals(1, forwarded());
    }

    @Test
    void expired_and_disabled_keys_get_401() throws Exception {
        assertOpenAiError(client.post("/v1/chat/completions", "sk-expired", "{}"), 401, "api_key_expired");
        assertOpenAiError(client.post("/v1/chat/completions", "sk-disabled", "{}"), 401, "api_key_disabled");
        assertEquals(200, client.post("/v1/chat/completions", "sk-future", "{}").statusCode());
        assertEquals(1, forwarded());
    }

    @Test
    void aliases_rewrite_only_the_model_value() throws Exception {
        String body = "{ \"messages\": [{\"role\":\"user\",\"content\":\"model: fast\"}],\n  \"model\" : \"fast\", \"n\":1 }";

        assertEquals(200, client.post("/v1/chat/completions", "sk-future", body).statusCode());

        LoggedRequest seen = upstream.findAll(anyRequestedFor(anyUrl())).get(0);
        String expected = body.replace("\"model\" : \"fast\"", "\"model\" : \"gpt-4o-mini\"");
        assertArrayEquals(expected.getBytes(StandardCharsets.UTF_8), seen.getBody());
    }

    @Test
    void a_key_alias_overrides_the_global_one_and_the_allow_list_sees_the_real_model() throws Exception {
        client.post("/v1/chat/completions", "sk-own-alias", "{\"model\":\"smart\"}");
        client.post("/v1/chat/completions", "sk-future", "{\"model\":\"smart\"}");
        var seen = upstream.findAll(anyRequestedFor(anyUrl()));
        assertEquals("{\"model\":\"o3-mini\"}", seen.get(0).getBodyAsString());
        assertEquals("{\"model\":\"gpt-4o\"}", seen.get(1).getBodyAsString());

        // 'fast' resolves to gpt-4o-mini, which the models-only key may use
        assertEquals(200, client.post("/v1/chat/completions", "sk-models", "{\"model\":\"fast\"}").statusCode());
    }

    @Test
    void policy_edits_apply_without_restart() throws Exception {
        assertEquals(403, client.post("/v1/chat/completions", "sk-models", "{\"model\":\"o1\"}").statusCode());

        TestEnv.rewriteKeys(KEYS_FILE, KEYS.replace("\"gpt-4o*\", ", "\"gpt-4o*\", \"o1\", ")
                .replace("disabled: true", "disabled: false"));
        watcher.checkNow();

        assertEquals(200, client.post("/v1/chat/completions", "sk-models", "{\"model\":\"o1\"}").statusCode());
        assertEquals(200, client.post("/v1/chat/completions", "sk-disabled", "{\"model\":\"o1\"}").statusCode());
    }
}
