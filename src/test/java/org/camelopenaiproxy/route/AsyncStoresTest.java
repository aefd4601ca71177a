package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.wiring.LimitsConfiguration;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.SlowStores;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pipeline steps wait for their stores without holding the event loop: with the proxy on one
 * event loop, stores that answer late (on another thread, like a remote store) still give every
 * client the same answers, and other requests are served while one waits.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS,
        configurationClasses = {SlowStores.class, ProxyConfiguration.class},
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.keys.file={{sys:test.async.keys}}", "proxy.event-loops=1",
            "proxy.server.instances=1"})
class AsyncStoresTest {

    static final TestSetup SETUP = TestSetup.named("async").keys("""
            keys:
              - name: waits
                key_sha256: {{hash:sk-waits}}
                limits: { max_concurrent: 2 }
              - name: free
                key_sha256: {{hash:sk-free}}
            """);

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject(LimitsConfiguration.RATE_LIMIT_STORE)
    SlowStores.HeldRateLimitStore limits;

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"object\":\"chat.completion\"}")));
        upstream.stubFor(post(urlEqualTo("/v1/embeddings")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"data\":[{\"embedding\":[0.5]}]}")));
    }

    @Test
    void other_requests_are_served_while_one_waits_for_its_rate_limit_store() throws Exception {
        limits.hold("waits");
        CompletableFuture<HttpResponse<String>> waiting = client.http().sendAsync(
                client.chatRequest("sk-waits", "{\"model\":\"gpt-4o\"}"), HttpResponse.BodyHandlers.ofString());
        Await.until(10, "the throttle step waiting for the store", () -> limits.holding() ? true : null);

        for (int i = 0; i < 5; i++) { // the proxy's only event loop serves these meanwhile
            HttpResponse<String> other = client.send(client.chatRequest("sk-free", "{\"model\":\"gpt-4o\",\"n\":" + i + "}"));
            assertEquals(200, other.statusCode(), other.body());
        }
        assertFalse(waiting.isDone(), "the waiting request must still be waiting for its store");

        limits.letGo(); // the store answers on this (test) thread; the step goes on on the event loop
        HttpResponse<String> answered = waiting.get(10, TimeUnit.SECONDS);
        assertEquals(200, answered.statusCode(), answered.body());
        assertEquals("{\"object\":\"chat.completion\"}", answered.body());
        assertEquals(6, upstream.countRequestsMatching(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .build()).getCount());

        // the slot it held is given back when its answer ends: the key can use both slots again
        Await.until(10, "the waiting request's slot back",
                () -> limits.inFlight("waits").toCompletableFuture().join() == 0 ? true : null);
        assertEquals(200, client.send(client.chatRequest("sk-waits", "{\"model\":\"gpt-4o\"}")).statusCode());
    }

    @Test
    void cache_hits_and_idempotent_replays_work_with_stores_that_answer_late() throws Exception {
        int lateBefore = SlowStores.LATE_ANSWERS.get();
        HttpRequest embeddings = client.json(client.request("/v1/embeddings"), "sk-free",
                "{\"model\":\"text-embedding-3-small\",\"input\":\"late\"}");
        HttpResponse<String> miss = client.send(embeddings);
        HttpResponse<String> hit = Await.until(10, "the answer stored (the store takes its time)", () -> {
            HttpResponse<String> r = client.send(embeddings);
            return "HIT".equals(r.headers().firstValue("x-proxy-cache").orElse("")) ? r : null;
        });
        assertEquals("MISS", miss.headers().firstValue("x-proxy-cache").orElse(""));
        assertEquals(miss.body(), hit.body());

        String body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
        HttpResponse<String> first = client.send(client.chatRequest("sk-free", body, "Idempotency-Key", "late-1"));
        assertEquals(200, first.statusCode(), first.body());
        HttpResponse<String> replay = Await.until(10, "the first answer kept", () -> {
            HttpResponse<String> r = client.send(client.chatRequest("sk-free", body, "Idempotency-Key", "late-1"));
            return r.statusCode() == 200 ? r : null; // 409 while the late store has not kept the answer yet
        });
        assertEquals("true", replay.headers().firstValue("Idempotent-Replayed").orElse(""));
        assertEquals(first.body(), replay.body());
        assertOpenAiError(client.send(client.chatRequest("sk-free", "{\"model\":\"gpt-4o\",\"n\":2}", "Idempotency-Key", "late-1")),
                422, "idempotency_key_reused");
        assertEquals(1, upstream.countRequestsMatching(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .build()).getCount(), "the repeat and the reused key never reached the upstream");
        assertTrue(SlowStores.LATE_ANSWERS.get() - lateBefore >= 6, "the stores did answer late");
    }
}
