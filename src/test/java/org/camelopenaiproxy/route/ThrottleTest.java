package org.camelopenaiproxy.route;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-key throttling answered the way OpenAI answers (429, Retry-After, x-ratelimit-*). */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.keys.file={{sys:test.throttle.keys}}",
            "proxy.limits.default.requests-per-minute=100", "proxy.limits.default-completion-tokens=200"})
class ThrottleTest {

    static final String KEYS = """
            keys:
              - name: five-per-minute
                key_sha256: {{hash:sk-rpm5}}
                limits: { requests_per_minute: 5 }
              - name: one-at-a-time
                key_sha256: {{hash:sk-conc1}}
                limits: { max_concurrent: 1 }
              - name: thousand-tokens
                key_sha256: {{hash:sk-tpm1000}}
                limits: { tokens_per_minute: 1000 }
              - name: defaults
                key_sha256: {{hash:sk-defaults}}
              - name: vision
                key_sha256: {{hash:sk-vision}}
                limits: { tokens_per_minute: 20000 }
            """;
    static final Path KEYS_FILE = TestSetup.named("throttle").keys(KEYS).keysFile();


    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("configWatcher")
    ConfigWatcher watcher;

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withHeader("x-ratelimit-limit-requests", "10000") // the upstream account's: never shown to clients
                .withBody("{\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":10,\"total_tokens\":30}}")));
        StringBuilder sse = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            sse.append("data: {\"i\":").append(i).append("}\n\n");
        }
        upstream.stubFor(post(urlEqualTo("/v1/stream")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(sse.append("data: [DONE]\n\n").toString())
                .withChunkedDribbleDelay(11, 1500)));
        upstream.stubFor(post(urlEqualTo("/v1/long-stream")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(sse.toString())
                .withChunkedDribbleDelay(11, 20_000)));
    }

    @org.junit.jupiter.api.AfterEach
    void restoreKeys() throws Exception {
        TestEnv.rewriteKeys(KEYS_FILE, KEYS);
    }

    @Test
    void twenty_parallel_requests_against_five_per_minute_give_exactly_five_successes() throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            all.add(CompletableFuture.supplyAsync(() -> {
                try {
                    start.await();
                    return client.chat("sk-rpm5", "{\"model\":\"gpt-4o-mini\"}");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        start.countDown();

        int ok = 0;
        int limited = 0;
        Set<String> remaining = new TreeSet<>();
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get();
            if (r.statusCode() == 200) {
                ok++;
                assertEquals("5", r.headers().firstValue("x-ratelimit-limit-requests").orElse(null));
                remaining.add(r.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
            } else {
                limited++;
                assertOpenAiError(r, 429, "rate_limit_exceeded");
                assertTrue(r.body().contains("\"type\":\"requests\""), r.body());
                long retryAfter = Long.parseLong(r.headers().firstValue("retry-after").orElseThrow());
                assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter);
                assertEquals("0", r.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
            }
        }
        assertEquals(5, ok);
        assertEquals(15, limited);
        assertEquals(Set.of("0", "1", "2", "3", "4"), remaining);
        assertEquals(5, upstream.getAllServeEvents().size());
    }

    @Test
    void a_stream_holds_its_concurrency_slot_until_it_ends() throws Exception {
        CompletableFuture<HttpResponse<String>> stream = client.http().sendAsync(client.request("/v1/stream")
                .header("Authorization", "Bearer sk-conc1").POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        awaitUpstreamRequests(1);

        HttpResponse<String> second = client.chat("sk-conc1", "{}");
        assertOpenAiError(second, 429, "rate_limit_exceeded");
        assertTrue(second.body().contains("\"type\":\"concurrency\""));
        assertEquals("1", second.headers().firstValue("retry-after").orElse(null));

        assertEquals(200, stream.get().statusCode());
        assertTrue(stream.get().body().endsWith("data: [DONE]\n\n"));
        assertEquals(200, client.chat("sk-conc1", "{}").statusCode(), "slot not released when the stream ended");
    }

    @Test
    void a_client_leaving_releases_its_slot_at_once() throws Exception {
        HttpResponse<InputStream> stream = client.http().send(client.request("/v1/long-stream")
                .header("Authorization", "Bearer sk-conc1").POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        assertTrue(stream.body().read() >= 0);
        assertEquals(429, client.chat("sk-conc1", "{}").statusCode());

        stream.body().close();

        // "at once": well within the 20 s the stream had left
        int status = Await.until(2, "the stream's slot released", () -> {
            int s = client.chat("sk-conc1", "{}").statusCode();
            return s == 429 ? null : s;
        });
        assertEquals(200, status);
    }

    @Test
    void tokens_are_reserved_up_front_and_refunded_from_real_usage() throws Exception {
        // each request reserves about 10 (body) + 400 (max_tokens) tokens; the upstream reports 30 used
        String body = "{\"model\":\"gpt-4o\",\"max_tokens\":400}";
        for (int i = 0; i < 8; i++) {
            HttpResponse<String> r = client.chat("sk-tpm1000", body);
            assertEquals(200, r.statusCode(), "request " + i + " refused: reservations were not reconciled");
            assertEquals("1000", r.headers().firstValue("x-ratelimit-limit-tokens").orElse(null));
        }
        // without reconciliation the third request would already have been refused (3 x 410 > 1000)

        // a burst that cannot be reconciled in time: reservations count immediately
        CountDownLatch start = new CountDownLatch(1);
        List<CompletableFuture<Integer>> burst = new ArrayList<>();
        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withFixedDelay(800)
                .withBody("{\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":10}}")));
        for (int i = 0; i < 6; i++) {
            burst.add(CompletableFuture.supplyAsync(() -> {
                try {
                    start.await();
                    return client.chat("sk-tpm1000", body).statusCode();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        start.countDown();
        long ok = 0;
        for (CompletableFuture<Integer> f : burst) {
            ok += f.get() == 200 ? 1 : 0;
        }
        assertTrue(ok >= 1 && ok <= 3, ok + " of 6 concurrent 410-token requests passed a 1000-token budget");
    }

    @Test
    void an_inline_image_is_reserved_as_an_image_not_as_megabytes_of_text() throws Exception {
        // 3 MiB of base64: as text that would be ~786k tokens, refused against 20,000 per minute at once
        String image = "data:image/png;base64," + java.util.Base64.getEncoder().encodeToString(new byte[3 * 1024 * 1024 * 3 / 4]);
        String body = "{\"model\":\"gpt-4o\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":\"What is in this picture?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + image + "\"}}]}]}";
        HttpResponse<String> r = client.chat("sk-vision", body);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(1, upstream.getAllServeEvents().size());
        long remaining = Long.parseLong(r.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
        assertTrue(remaining > 20000 - 2 * 1536 - 1000 && remaining < 20000 - 1536,
                "one attachment, its text and its output cap are reserved: " + remaining);
        // and the request after it is admitted as usual
        assertEquals(200, client.chat("sk-vision", "{\"model\":\"gpt-4o\",\"max_tokens\":100}").statusCode());

        // the same size as plain text is still reserved by its length: refused before the upstream
        String text = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + "the quick brown fox ".repeat(150_000) + "\"}]}";
        HttpResponse<String> refused = client.chat("sk-vision", text);
        assertOpenAiError(refused, 429, "rate_limit_exceeded");
        assertEquals(2, upstream.getAllServeEvents().size());
    }

    @Test
    void a_request_larger_than_the_whole_budget_is_refused_at_once() throws Exception {
        HttpResponse<String> r = client.chat("sk-tpm1000", "{\"model\":\"gpt-4o\",\"max_tokens\":5000}");
        assertOpenAiError(r, 429, "rate_limit_exceeded");
        assertTrue(r.body().contains("\"type\":\"tokens\""));
        assertEquals(0, upstream.getAllServeEvents().size());
    }

    @Test
    void keys_without_limits_get_the_defaults_and_every_answer_carries_the_headers() throws Exception {
        HttpResponse<String> r = client.chat("sk-defaults", "{}");
        assertEquals(200, r.statusCode());
        assertEquals("100", r.headers().firstValue("x-ratelimit-limit-requests").orElse(null));
        assertEquals("99", r.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
        String reset = r.headers().firstValue("x-ratelimit-reset-requests").orElse("");
        assertTrue(reset.matches("\\d+(\\.\\d+)?(ms|s)"), reset);

        upstream.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(400)
                .withHeader("Content-Type", "application/json").withBody("{\"error\":{}}")));
        HttpResponse<String> failed = client.chat("sk-defaults", "{}");
        assertEquals(400, failed.statusCode());
        assertEquals("98", failed.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
    }

    @Test
    void editing_keys_yaml_keeps_the_counters_of_unchanged_keys() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertEquals(200, client.chat("sk-rpm5", "{}").statusCode());
        }
        assertEquals(429, client.chat("sk-rpm5", "{}").statusCode());

        TestEnv.rewriteKeys(KEYS_FILE, KEYS + "  - name: newcomer\n    key_sha256: {{hash:sk-new}}\n");
        watcher.checkNow();

        assertEquals(200, client.chat("sk-new", "{}").statusCode(), "the edit did not apply");
        assertEquals(429, client.chat("sk-rpm5", "{}").statusCode(), "an unchanged key's budget was reset by the edit");

        TestEnv.rewriteKeys(KEYS_FILE, KEYS.replace("requests_per_minute: 5", "requests_per_minute: 50"));
        watcher.checkNow();
        HttpResponse<String> raised = client.chat("sk-rpm5", "{}");
        assertEquals(200, raised.statusCode(), "a raised limit did not apply");
        assertEquals("50", raised.headers().firstValue("x-ratelimit-limit-requests").orElse(null));
    }

    private void awaitUpstreamRequests(int n) throws Exception {
        Await.that(10, "the upstream seeing " + n + " requests", () -> upstream.getAllServeEvents().size() >= n);
    }
}
