package org.camelopenaiproxy.route;

import java.net.http.HttpResponse;
import java.time.Duration;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.pipeline.cache.CaffeineResponseStore;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestClock;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.wiring.RuntimeConfiguration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache stays within its bounds (entries, bytes) and forgets answers after their time to live. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = {TestClock.Bound.class, ProxyConfiguration.class},
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.cache.max-entries=3", "proxy.cache.max-bytes=30000",
            "proxy.cache.ttl-ms=700"})
class CacheEvictionTest {

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("responseCacheStore")
    CaffeineResponseStore<?> store;

    @BeanInject(RuntimeConfiguration.TICKER)
    TestClock clock;

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"data\":[]}")));
    }

    private String embed(String input) throws Exception {
        HttpResponse<String> r = client.postJson("/v1/embeddings", "{\"model\":\"m\",\"input\":\"" + input + "\"}");
        return r.headers().firstValue("x-proxy-cache").orElse("");
    }

    @Test
    void no_more_than_max_entries_are_kept() throws Exception {
        for (int i = 0; i < 10; i++) {
            assertEquals("MISS", embed("text-" + i));
        }
        store.cleanUp();
        assertTrue(store.size() <= 3, "cache holds " + store.size() + " entries, bound is 3");
    }

    @Test
    void a_large_answer_counts_by_its_bytes() throws Exception {
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"data\":\"" + "x".repeat(20_000) + "\"}")));
        embed("big-1");
        embed("big-2");
        store.cleanUp();
        assertTrue(store.size() <= 1, "two 20 kB answers in a 30 kB cache: " + store.size() + " kept");
    }

    @Test
    void answers_expire_after_the_time_to_live() throws Exception {
        assertEquals("MISS", embed("ttl"));
        clock.advance(Duration.ofMillis(699));
        assertEquals("HIT", embed("ttl"), "within the 700 ms time to live");
        clock.advance(Duration.ofMillis(2));
        assertEquals("MISS", embed("ttl"), "past the 700 ms time to live the entry is gone");
        assertEquals("HIT", embed("ttl"), "and the fresh answer is kept again");
    }
}
