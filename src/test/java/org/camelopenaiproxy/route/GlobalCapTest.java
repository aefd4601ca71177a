package org.camelopenaiproxy.route;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The proxy-wide cap on requests in flight upstream protects the upstream account. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.capped.url}}",
            TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.limits.max-in-flight=2"})
class GlobalCapTest {

    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.capped.url");

    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @AfterAll
    static void stop() throws Exception {
        UPSTREAM.close();
    }

    @Test
    void requests_past_the_cap_get_503_with_retry_after_until_a_stream_ends() throws Exception {
        UPSTREAM.script(req -> {
            if (req.path().endsWith("/long")) {
                UPSTREAM.streamEvents(req, 200, 100); // 20 s
            } else {
                req.response().putHeader("Content-Type", "application/json").end("{}");
            }
        });
        HttpRequest longStream = client.authorized("/v1/long").POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        HttpResponse<InputStream> a = client.http().send(longStream, HttpResponse.BodyHandlers.ofInputStream());
        HttpResponse<InputStream> b = client.http().send(longStream, HttpResponse.BodyHandlers.ofInputStream());

        HttpResponse<String> third = client.postJson("/v1/chat/completions", "{}");

        assertOpenAiError(third, 503, "proxy_at_capacity");
        assertEquals("1", third.headers().firstValue("retry-after").orElse(null));
        a.body().close();
        int status = Await.until(2, "room under the cap again", () -> {
            int s = client.postJson("/v1/chat/completions", "{}").statusCode();
            return s == 503 ? null : s;
        });
        assertEquals(200, status);
        assertTrue(b.body().read() >= 0);
        b.body().close();
    }
}
