package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With proxy.idempotency.in-flight=wait, a repeat waits for the first request's answer instead of 409. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.idempotency.in-flight=wait", "proxy.idempotency.wait-ms=5000"})
class IdempotencyWaitTest {

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @Test
    void a_repeat_in_flight_waits_and_gets_the_first_answer() throws Exception {
        upstream.resetAll();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"id\":\"only-once\"}").withFixedDelay(800)));
        HttpRequest request = client.authorized("/v1/chat/completions").header("Idempotency-Key", "wait-1")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[]}")).build();

        CompletableFuture<HttpResponse<String>> first = client.http().sendAsync(request, HttpResponse.BodyHandlers.ofString());
        Await.that(5, "the first request at the upstream", () -> !upstream.getAllServeEvents().isEmpty());
        HttpResponse<String> second = client.send(request);

        assertEquals(200, second.statusCode(), second.body());
        assertEquals("{\"id\":\"only-once\"}", second.body());
        assertEquals("true", second.headers().firstValue("idempotent-replayed").orElse(null));
        assertEquals("{\"id\":\"only-once\"}", first.get().body());
        assertEquals(1, upstream.getAllServeEvents().size());
        assertTrue(first.get().headers().firstValue("idempotent-replayed").isEmpty());
    }
}
