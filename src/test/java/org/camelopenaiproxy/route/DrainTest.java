package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.BeanInject;
import org.apache.camel.CamelContext;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.AppendedFile;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A restart cuts nothing: on shutdown the proxy is not ready at once, refuses new requests with
 * 503 + Connection: close, lets streams in flight finish for up to proxy.shutdown.drain-ms, ends
 * those still open then with an SSE error event (and a dead letter), and writes the queued
 * access-log lines before it is gone. Each test stops its own proxy.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.upstream.base-url={{sys:test.drain.upstream}}", "proxy.shutdown.drain-ms=2000",
            "proxy.events.batch-ms=60000", // queued, not yet flushed by time: the shutdown must write them
            "proxy.access-log.uri=file:{{sys:test.drain.dir}}?fileName=access.jsonl&fileExist=Append&appendChars=\n",
            "proxy.dead-letter.uri=file:{{sys:test.drain.dir}}?fileName=dl.jsonl&fileExist=Append&appendChars=\n"})
class DrainTest {

    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.drain.upstream");
    static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("drain");
            System.setProperty("test.drain.dir", DIR.toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @BeanInject
    CamelContext context;

    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());
    private final AtomicInteger upstreamRequests = new AtomicInteger();

    @AfterAll
    static void close() throws Exception {
        UPSTREAM.close();
    }

    @BeforeEach
    void clean() throws Exception {
        Files.deleteIfExists(DIR.resolve("access.jsonl"));
        Files.deleteIfExists(DIR.resolve("dl.jsonl"));
    }

    private CompletableFuture<HttpResponse<String>> stream(String requestId) {
        return client.http().sendAsync(client.authorized("/v1/chat/completions").header("x-request-id", requestId)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<Void> stopInBackground() throws Exception {
        Await.until(10, "the stream under way", () -> upstreamRequests.get() > 0 ? Boolean.TRUE : null);
        return CompletableFuture.runAsync(() -> {
            try {
                context.stop(); // what camel-main's SIGTERM hook does
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void a_stream_spanning_shutdown_completes_with_done_while_the_proxy_is_unready_and_refuses_new_requests()
            throws Exception {
        UPSTREAM.script(req -> {
            upstreamRequests.incrementAndGet();
            UPSTREAM.streamEvents(req, 16, 60); // about 1 s: well inside the 2 s drain
        });
        CompletableFuture<HttpResponse<String>> stream = stream("req-drain-done");
        CompletableFuture<Void> stopped = stopInBackground();

        HttpResponse<String> ready = Await.until(5, "readiness DOWN", () -> {
            HttpResponse<String> h = client.send(client.request("/observe/health/ready").GET().build());
            return h.statusCode() == 503 ? h : null;
        });
        assertTrue(ready.body().contains("DOWN"), ready.body());
        HttpResponse<String> refused = client.postJson("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}");
        assertEquals(503, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("shutting down"), refused.body());
        assertFalse(stream.isDone(), "the stream is still in flight while new requests are refused");

        HttpResponse<String> answer = stream.get(10, TimeUnit.SECONDS);
        assertEquals(200, answer.statusCode());
        assertTrue(answer.body().endsWith("data: [DONE]\n\n"), answer.body());
        assertEquals(16, answer.body().split("chat.completion.chunk", -1).length - 1, "every event arrived");
        stopped.get(10, TimeUnit.SECONDS);

        // the queued access-log line (batch timer 60 s, never fired) was written before the proxy was gone
        List<String> log = AppendedFile.lines(DIR.resolve("access.jsonl"));
        assertTrue(log.stream().anyMatch(l -> l.contains("req-drain-done") && l.contains("\"status\":200")), log.toString());
        assertFalse(Files.exists(DIR.resolve("dl.jsonl")), "a completed stream is no dead letter");
    }

    @Test
    void a_stream_outliving_the_drain_ends_with_an_error_event_and_is_recorded() throws Exception {
        UPSTREAM.script(req -> {
            upstreamRequests.incrementAndGet();
            UPSTREAM.streamEvents(req, 100, 100); // 10 s: outlives the 2 s drain
        });
        CompletableFuture<HttpResponse<String>> stream = stream("req-drain-cut");
        long stopAt = System.nanoTime();
        CompletableFuture<Void> stopped = stopInBackground();

        HttpResponse<String> answer = stream.get(10, TimeUnit.SECONDS);
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopAt);
        assertEquals(200, answer.statusCode());
        assertTrue(answer.body().contains("t1\""), "events before the drain ended arrived: " + answer.body());
        String last = answer.body().substring(answer.body().lastIndexOf("data: "));
        assertTrue(last.startsWith("data: {\"error\":"), "ends with an SSE error event, not a cut: " + last);
        assertTrue(last.contains("shutting down"), last);
        assertFalse(answer.body().contains("[DONE]"));
        assertTrue(tookMs >= 1900 && tookMs < 6000, "ended when the 2 s drain was over: " + tookMs + " ms");
        stopped.get(10, TimeUnit.SECONDS);

        List<String> dead = AppendedFile.lines(DIR.resolve("dl.jsonl"));
        assertEquals(1, dead.size(), dead.toString());
        assertTrue(dead.get(0).contains("req-drain-cut"), dead.get(0));
    }
}
