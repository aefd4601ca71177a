package org.camelopenaiproxy.route;

import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A dead-letter sink that fails (here: a directory that cannot be created) never delays the client. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.retry.initial-delay-ms=10",
            "proxy.dead-letter.uri=file:/proc/no-such-dir/dead?fileName=dl.jsonl"})
class DeadLetterSinkFailureTest {

    private final WireMockServer upstream = TestEnv.upstream();

    @Test
    void the_client_gets_its_answer_promptly_when_the_sink_fails() throws Exception {
        upstream.resetAll();
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(500).withBody("{}")));
        ProxyClient client = new ProxyClient(TestEnv.proxyUrl());
        for (int i = 0; i < 5; i++) {
            long start = System.nanoTime();
            HttpResponse<String> r = client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o\"}");
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // the upstream's own last answer (every request is tried, even once the circuit is open)
            assertEquals(500, r.statusCode(), r.body());
            assertEquals("{}", r.body());
            assertTrue(tookMs < 2000, "answer delayed " + tookMs + " ms");
        }
        // alive, whatever the upstream did
        assertEquals(200, client.send(client.request("/observe/health/live").GET().build()).statusCode());
    }
}
