package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** First-byte and total timeouts against a slow upstream. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.timeout.first-byte-ms=600",
            "proxy.timeout.idle-ms=5000", "proxy.timeout.total-ms=1500"})
class TimeoutsTest {

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeforeEach
    void reset() {
        upstream.resetAll();
    }

    @Test
    void no_response_head_within_first_byte_timeout_gives_504() throws Exception {
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("{}")
                .withFixedDelay(4000)));
        long start = System.nanoTime();
        HttpResponse<String> response = client.postJson("/v1/chat/completions", "{}");
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertOpenAiError(response, 504, "upstream_timeout");
        assertTrue(tookMs < 3000, "504 came after " + tookMs + " ms");
    }

    @Test
    void answer_still_incomplete_at_the_total_timeout_is_cut() throws Exception {
        // head at once, then the JSON body dribbles over 4 s: each gap (400 ms) is within the idle timeout
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"id\":\"chatcmpl-slow\",\"choices\":[],\"padding\":\"" + "x".repeat(200) + "\"}")
                .withChunkedDribbleDelay(10, 4000)));
        long start = System.nanoTime();
        boolean cut;
        try {
            HttpResponse<String> response = client.send(client.authorized("/v1/chat/completions")
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
            cut = !response.body().endsWith("\"}");
        } catch (java.io.IOException e) {
            cut = true; // connection closed before the body completed: what a client must see
        }
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertTrue(cut, "a truncated answer was passed off as complete");
        assertTrue(tookMs < 3500, "cut only after " + tookMs + " ms");
    }
}
