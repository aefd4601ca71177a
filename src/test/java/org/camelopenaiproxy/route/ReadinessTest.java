package org.camelopenaiproxy.route;

import java.net.http.HttpResponse;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.upstream.CircuitBreakers;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /observe/health shows the upstream breakers; an upstream in trouble never makes the proxy unready (panic mode tries it). */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.retry.max-attempts=1", "proxy.circuit-breaker.window=2",
            "proxy.circuit-breaker.minimum-calls=2", "proxy.circuit-breaker.open-ms=1500"})
class ReadinessTest {

    @org.apache.camel.BeanInject("circuitBreakers")
    CircuitBreakers breakers;

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
    void stays_ready_while_every_upstream_circuit_is_open_because_requests_are_still_tried() throws Exception {
        HttpResponse<String> healthy = health("/observe/health");
        assertEquals(200, healthy.statusCode(), healthy.body());
        assertTrue(healthy.body().contains("\"UP\""), healthy.body());

        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(500)));
        for (int i = 0; i < 2; i++) {
            assertEquals(500, client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}").statusCode(),
                    "the client gets the upstream's own 500");
        }

        // the only deployment's breaker is open; a not-ready proxy would be taken out of the load balancer
        // and refuse what the upstream could answer: readiness stays UP and shows the open breaker
        HttpResponse<String> open = health("/observe/health/ready");
        assertEquals(200, open.statusCode(), open.body());
        assertEquals(CircuitBreaker.State.OPEN, breakers.forModel("default", "gpt-4o-mini").getState());
        assertEquals(200, health("/observe/health/live").statusCode(), "a failing upstream is no reason to restart");

        // the upstream recovers: the very next request is tried (panic mode) and succeeds, the breaker closes
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200).withBody("{}")));
        assertEquals(200, client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}").statusCode());
        HttpResponse<String> closed = health("/observe/health/ready");
        assertEquals(200, closed.statusCode(), closed.body());
        assertEquals(CircuitBreaker.State.CLOSED, breakers.forModel("default", "gpt-4o-mini").getState());
    }
}
