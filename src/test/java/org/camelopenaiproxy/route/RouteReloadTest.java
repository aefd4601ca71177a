package org.camelopenaiproxy.route;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.CamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.OnExceptionDefinition;
import org.apache.camel.model.ProcessDefinition;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.pipeline.FusedSteps;
import org.camelopenaiproxy.reload.SafeRouteReloadStrategy;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.Metrics;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Editing routes/*.yaml while the proxy runs: the edit takes effect without a restart, nothing in
 * flight fails or is cut, and a broken edit is refused while the previous routes keep serving.
 * Works on a copy of routes/ so the real files are never touched.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.QUICK_STOP, "proxy.routes.directory={{sys:test.routes.dir}}", "proxy.routes.reload-enabled=true"})
class RouteReloadTest {

    static final Path ROUTES;
    static final String ORIGINAL;

    static {
        try {
            ORIGINAL = Files.readString(Path.of("routes/proxy.camel.yaml"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ROUTES = TestSetup.named("routes").file("proxy", "proxy.camel.yaml", ORIGINAL)
                .prepare(dir -> Files.copy(Path.of("routes/audit.camel.yaml"), dir.resolve("audit.camel.yaml")))
                .exposeDir().dir();
    }

    /** The shipped pipeline plus a step that tags upstream requests with an OpenAI-Beta header. */
    static String tagged(String tag) {
        return ORIGINAL.replace("        - to:\n            uri: direct:upstream",
                "        - setHeader:\n            name: OpenAI-Beta\n            constant: " + tag
                + "\n        - to:\n            uri: direct:upstream");
    }

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject("routeReloader")
    SafeRouteReloadStrategy reloader;

    @BeanInject
    CamelContext context;

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"ok\":true}")));
    }

    private void edit(String content) throws IOException {
        Path tmp = ROUTES.resolve("proxy.camel.yaml.tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, ROUTES.resolve("proxy.camel.yaml"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    private static void awaitIncrease(LongSupplier counter, long before) throws Exception {
        Await.that(15, "the edit picked up", () -> counter.getAsLong() > before);
    }

    private String lastBetaHeaderSeenUpstream() {
        var all = upstream.findAll(anyRequestedFor(anyUrl()));
        return all.isEmpty() ? null : all.get(all.size() - 1).getHeader("OpenAI-Beta");
    }

    @Test
    void an_edit_takes_effect_without_restart_and_java_routes_stay() throws Exception {
        long before = reloader.applied();
        edit(tagged("edit-1"));
        awaitIncrease(reloader::applied, before);

        assertEquals(200, client.postJson("/v1/chat/completions", "{}").statusCode());
        assertEquals("edit-1", lastBetaHeaderSeenUpstream());
        // the Java routeConfiguration 'errors' survived the reload: failures are still OpenAI-shaped
        assertOpenAiError(client.send(client.request("/v1/chat/completions")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build()), 401, "invalid_api_key");
    }

    @Test
    void metrics_survive_a_route_reload() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals(200, client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}").statusCode());
        }
        assertEquals(3, Metrics.scrape(client).value("proxy_requests_total", "status", "200"));

        long before = reloader.applied();
        edit(tagged("edit-metrics"));
        awaitIncrease(reloader::applied, before);
        assertEquals(200, client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}").statusCode());

        Metrics after = Metrics.scrape(client);
        assertEquals("edit-metrics", lastBetaHeaderSeenUpstream());
        assertEquals(4, after.value("proxy_requests_total", "status", "200"), "counts kept across the reload");
        assertEquals(4, after.value("proxy_request_duration_seconds_count"));
    }

    @Test
    void requests_and_streams_in_flight_during_a_reload_complete() throws Exception {
        upstream.stubFor(post("/v1/slow").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"slow\":true}").withFixedDelay(1500)));
        StringBuilder sse = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            sse.append("data: {\"i\":").append(i).append("}\n\n");
        }
        sse.append("data: [DONE]\n\n");
        upstream.stubFor(post("/v1/stream").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(sse.toString())
                .withChunkedDribbleDelay(10, 2000)));

        CompletableFuture<HttpResponse<String>> slow = client.http().sendAsync(client.authorized("/v1/slow")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        CompletableFuture<HttpResponse<String>> stream = client.http().sendAsync(client.authorized("/v1/stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build(), HttpResponse.BodyHandlers.ofString());

        AtomicBoolean loadOn = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<Thread> load = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < 4; t++) {
            int slot = t;
            Thread th = new Thread(() -> {
                while (loadOn.get()) {
                    try {
                        HttpResponse<String> r = client.postJson("/v1/chat/completions", "{\"n\":" + slot + "}");
                        sent.incrementAndGet();
                        if (r.statusCode() != 200 || !r.body().equals("{\"ok\":true}")) {
                            failures.add(r.statusCode() + " " + r.body());
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            });
            th.start();
            load.add(th);
        }
        // the slow call, the stream and the load in flight: that is the scenario
        // at least 10 requests before the edit and 10 after it (below): the 20 the last assertions rely on
        Await.that(10, "the slow call, the stream and the load at the upstream", () -> sent.get() >= 10
                && upstream.findAll(postRequestedFor(urlEqualTo("/v1/slow"))).size() == 1
                && upstream.findAll(postRequestedFor(urlEqualTo("/v1/stream"))).size() == 1);
        int beforeEdit = sent.get();
        long before = reloader.applied();
        edit(tagged("edit-2"));
        awaitIncrease(reloader::applied, before);
        // keep the load on until requests demonstrably run through the new routes
        Await.that(10, "requests through the new routes", () -> "edit-2".equals(lastBetaHeaderSeenUpstream())
                && sent.get() >= beforeEdit + 10);
        loadOn.set(false);
        for (Thread th : load) {
            th.join(20_000);
        }

        assertEquals("edit-2", lastBetaHeaderSeenUpstream());
        assertTrue(failures.isEmpty(), "requests failed during the reload: " + failures);
        assertTrue(sent.get() >= 20, "too little load to prove anything: " + sent.get());
        HttpResponse<String> slowAnswer = slow.get();
        assertEquals(200, slowAnswer.statusCode());
        assertEquals("{\"slow\":true}", slowAnswer.body());
        HttpResponse<String> streamAnswer = stream.get();
        assertEquals(200, streamAnswer.statusCode());
        assertEquals(sse.toString(), streamAnswer.body());
    }

    /** The names of the beans the file's {@code process} steps call, in the file's order. */
    private static List<String> processRefs(String routeFile) {
        return routeFile.lines().map(String::trim).filter(line -> line.startsWith("ref: "))
                .map(line -> line.substring(5).split("\\s")[0]).toList();
    }

    /** The proxy route's steps as Camel runs them (without the route configuration's onException). */
    private List<ProcessorDefinition<?>> proxySteps() {
        return ((ModelCamelContext) context).getRouteDefinition("proxy").getOutputs().stream()
                .filter(step -> !(step instanceof OnExceptionDefinition)).toList();
    }

    @Test
    void the_pipelines_steps_run_as_one_camel_step_after_every_edit() throws Exception {
        List<String> shipped = processRefs(ORIGINAL);
        assertEquals(11, shipped.size(), "the shipped pipeline's steps: " + shipped);

        long before = reloader.applied();
        edit(tagged("fused"));
        awaitIncrease(reloader::applied, before);
        List<ProcessorDefinition<?>> steps = proxySteps();
        assertEquals(3, steps.size(), "the eleven process steps, the edit's setHeader, then the upstream: " + steps);
        assertEquals(shipped, ((FusedSteps) ((ProcessDefinition) steps.get(0)).getProcessor()).names());
        assertEquals(200, client.postJson("/v1/chat/completions", "{}").statusCode());
        assertEquals("fused", lastBetaHeaderSeenUpstream());

        before = reloader.applied();
        edit(ORIGINAL);
        awaitIncrease(reloader::applied, before);
        steps = proxySteps();
        assertEquals(2, steps.size(), "the eleven process steps, then the upstream: " + steps);
        assertEquals(shipped, ((FusedSteps) ((ProcessDefinition) steps.get(0)).getProcessor()).names());
        assertEquals(200, client.postJson("/v1/chat/completions", "{}").statusCode());
    }

    @Test
    void broken_edits_are_refused_and_the_previous_routes_keep_serving() throws Exception {
        long applied = reloader.applied();
        edit(tagged("good"));
        awaitIncrease(reloader::applied, applied);

        String[] broken = {
            "- route:\n    id: proxy\n    from: [unclosed\n",                                  // invalid YAML
            tagged("good").replace("uri: direct:upstream", "uri: direct:upstream\n        - to: nosuchcomponent:foo"),
            tagged("good").replace("ref: apiKeyAuthenticator", "ref: noSuchBean"),
        };
        for (String edit : broken) {
            long rejected = reloader.rejected();
            edit(edit);
            awaitIncrease(reloader::rejected, rejected);
            assertNotNull(reloader.lastRejection());

            HttpResponse<String> response = client.postJson("/v1/chat/completions", "{}");
            assertEquals(200, response.statusCode(), "previous routes stopped serving after: " + reloader.lastRejection());
            assertEquals("good", lastBetaHeaderSeenUpstream());
        }
        // and a correct edit after the broken ones still applies
        applied = reloader.applied();
        edit(ORIGINAL);
        awaitIncrease(reloader::applied, applied);
        assertEquals(200, client.postJson("/v1/chat/completions", "{}").statusCode());
    }
}
