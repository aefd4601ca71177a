package org.camelopenaiproxy.route;

import java.net.http.HttpResponse;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /observe/health says whether the upstream pool can take requests, not only that the JVM is up. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.retry.max-attempts=1", "proxy.circuit-breaker.window=2",
            "proxy.circuit-breaker.minimum-calls=2", "proxy.circuit-breaker.open-ms=1500"})
class ReadinessTest {

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeforeEach
    void reset() {
        upstream.resetAll();
    }

    private HttpResponse<String> health(String path) throws Exception {
        return client.send(client.request(path).GET().build());
    }

    @Test
    void not_ready_while_every_upstream_circuit_is_open_and_ready_again_after() throws Exception {
        HttpResponse<String> healthy = health("/observe/health");
        assertEquals(200, healthy.statusCode(), healthy.body());
        assertTrue(healthy.body().contains("\"UP\""), healthy.body());

        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(500)));
        for (int i = 0; i < 2; i++) {
            assertEquals(502, client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}").statusCode());
        }

        HttpResponse<String> down = health("/observe/health");
        assertEquals(503, down.statusCode(), down.body());
        assertTrue(down.body().contains("upstreams") && down.body().contains("DOWN"), down.body());
        assertEquals(503, health("/observe/health/ready").statusCode());
        assertEquals(200, health("/observe/health/live").statusCode(), "a failing upstream is no reason to restart");

        // after the breaker's open time it lets a probe through again: ready
        HttpResponse<String> again = Await.until(10, "ready again", () -> {
            HttpResponse<String> h = health("/observe/health/ready");
            return h.statusCode() == 200 ? h : null;
        });
        assertTrue(again.body().contains("UP"), again.body());
    }
}
