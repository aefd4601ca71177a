package org.camelopenaiproxy.route;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import org.apache.camel.BeanInject;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.pipeline.limits.LocalRateLimitStore;
import org.camelopenaiproxy.pipeline.limits.RateLimitStore;
import org.camelopenaiproxy.support.AppendedFile;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * However a request ends (its answer completed, the client left before the answer or mid-stream,
 * the upstream went quiet past the idle timeout) it ends once: exactly one access-log line, its concurrency slot
 * released exactly once, and the key's next request is admitted at once.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS,
        configurationClasses = {RequestLifecycleTest.CountingSlots.class, ProxyConfiguration.class},
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.life.url}}",
            TestEnv.UPSTREAM_API_KEY, "proxy.keys.file={{sys:test.life.keys}}", TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.access-log.uri=stream:file?fileName={{sys:test.life.access}}", "proxy.events.batch-ms=5",
            "proxy.timeout.idle-ms=500", "proxy.retry.max-attempts=1"})
class RequestLifecycleTest {

    static final String KEY = "sk-life-one-at-a-time";
    static final TestSetup SETUP = TestSetup.named("life").keys("""
            keys:
              - name: one-at-a-time
                key_sha256: {{hash:sk-life-one-at-a-time}}
                limits: { max_concurrent: 1 }
            """).expose("access", "access.jsonl");
    static final Path ACCESS_LOG = Path.of(System.getProperty("test.life.access"));
    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.life.url");
    static final ObjectMapper JSON = new ObjectMapper();

    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @BeanInject(org.camelopenaiproxy.wiring.LimitsConfiguration.RATE_LIMIT_STORE)
    CountingSlots.Store slots;

    @AfterAll
    static void stop() throws Exception {
        UPSTREAM.close();
    }

    @Test
    void a_completed_answer_ends_once() throws Exception {
        UPSTREAM.script(req -> req.response().putHeader("Content-Type", "application/json").end("{\"object\":\"chat.completion\"}"));
        int released = slots.released("one-at-a-time");

        HttpResponse<String> response = client.send(chat("life-completed-1", "{\"model\":\"gpt-4o\"}"));

        assertEquals(200, response.statusCode(), response.body());
        JsonNode line = theOnlyLine("life-completed-1", released + 1);
        assertEquals(200, line.path("status").asInt());
        assertEquals("completed", line.path("outcome").asText());
    }

    @Test
    void a_client_leaving_mid_stream_ends_its_request_once() throws Exception {
        UPSTREAM.script(req -> UPSTREAM.streamEvents(req, 200, 100)); // a 20 s stream
        int released = slots.released("one-at-a-time");
        HttpResponse<InputStream> stream = client.http().send(chat("life-left-1", "{\"model\":\"gpt-4o\",\"stream\":true}"),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        assertTrue(stream.body().read(new byte[16]) > 0, "the stream began");

        stream.body().close(); // the client goes away mid-stream: the relay, the entry and the writer all see it

        JsonNode line = theOnlyLine("life-left-1", released + 1);
        assertEquals("client_closed", line.path("outcome").asText());
    }

    @Test
    void a_client_leaving_before_the_answer_began_ends_its_request_once() throws Exception {
        CompletableFuture<Void> arrived = new CompletableFuture<>();
        UPSTREAM.script(req -> arrived.complete(null)); // never answers
        int released = slots.released("one-at-a-time");
        CompletableFuture<HttpResponse<String>> waiting = client.http().sendAsync(
                chat("life-left-early-1", "{\"model\":\"gpt-4o\"}"), HttpResponse.BodyHandlers.ofString());
        arrived.get(10, TimeUnit.SECONDS);

        // the client goes away: the writer finds it gone, and so does the entry once the route is done
        waiting.cancel(true);

        JsonNode line = theOnlyLine("life-left-early-1", released + 1);
        assertEquals(499, line.path("status").asInt());
    }

    @Test
    void a_stream_the_upstream_lets_time_out_ends_once() throws Exception {
        UPSTREAM.script(req -> {
            req.response().setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream");
            req.response().write(ScriptedUpstream.event(0)); // then silence, connection kept open
        });
        int released = slots.released("one-at-a-time");

        HttpResponse<String> response = client.send(chat("life-timeout-1", "{\"model\":\"gpt-4o\",\"stream\":true}"));

        assertTrue(response.body().contains("\"code\":\"upstream_timeout\""), response.body());
        JsonNode line = theOnlyLine("life-timeout-1", released + 1);
        assertEquals("timeout", line.path("outcome").asText());
    }

    /**
     * Waits for the request's access-log line and its slot's release, then proves there is no
     * second of either: the key's next request (max_concurrent 1) is admitted, and once its own
     * line is logged (events are queued in the order requests end) the first still has one line
     * and one release.
     */
    private JsonNode theOnlyLine(String requestId, int releasedAfter) throws Exception {
        Await.until(10, "the slot of " + requestId + " released", () -> slots.released("one-at-a-time") >= releasedAfter ? true : null);
        Await.until(10, "the access-log line of " + requestId, () -> lines(requestId).isEmpty() ? null : true);

        UPSTREAM.script(req -> req.response().putHeader("Content-Type", "application/json").end("{}"));
        String next = requestId + "-next";
        HttpResponse<String> after = client.send(chat(next, "{\"model\":\"gpt-4o\"}"));
        assertEquals(200, after.statusCode(), "the key's next request is admitted at once: " + after.body());
        Await.until(10, "the access-log line of " + next, () -> lines(next).isEmpty() ? null : true);

        List<JsonNode> lines = lines(requestId);
        assertEquals(1, lines.size(), "access-log lines of " + requestId + ": " + lines);
        assertEquals(releasedAfter + 1, slots.released("one-at-a-time"),
                "one release for the request and one for the next, no second release");
        assertEquals(0, slots.inFlightNow("one-at-a-time"), "no slot left taken");
        return lines.get(0);
    }

    private HttpRequest chat(String requestId, String body) {
        return client.request("/v1/chat/completions").header("Authorization", "Bearer " + KEY)
                .header("x-request-id", requestId).POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static List<JsonNode> lines(String requestId) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        if (!Files.exists(ACCESS_LOG)) {
            return found;
        }
        for (String line : AppendedFile.lines(ACCESS_LOG)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode node = JSON.readTree(line);
            if (requestId.equals(node.path("request_id").asText())) {
                found.add(node);
            }
        }
        return found;
    }

    /** The embedded rate-limit store, counting the slot releases per key. */
    public static class CountingSlots implements CamelConfiguration {

        @Override
        public void configure(CamelContext context) {
            context.getRegistry().bind(org.camelopenaiproxy.wiring.LimitsConfiguration.RATE_LIMIT_STORE, new Store());
        }

        public static final class Store implements RateLimitStore {
            private final LocalRateLimitStore store = new LocalRateLimitStore();
            private final ConcurrentHashMap<String, AtomicInteger> releases = new ConcurrentHashMap<>();
            private final ConcurrentHashMap<String, AtomicInteger> taken = new ConcurrentHashMap<>();

            @Override
            public AsyncBucketProxy bucket(String id, BucketConfiguration configuration) {
                return store.bucket(id, configuration);
            }

            @Override
            public CompletionStage<Boolean> tryAcquire(String id, int max) {
                return store.tryAcquire(id, max).thenApply(ok -> {
                    if (ok) {
                        taken.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
                    }
                    return ok;
                });
            }

            @Override
            public CompletionStage<Void> release(String id) {
                releases.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
                taken.computeIfAbsent(id, k -> new AtomicInteger()).decrementAndGet();
                return store.release(id);
            }

            @Override
            public CompletionStage<Integer> inFlight(String id) {
                return store.inFlight(id);
            }

            int released(String id) {
                return releases.computeIfAbsent(id, k -> new AtomicInteger()).get();
            }

            /** Slots taken minus released (a second release would make it negative). */
            int inFlightNow(String id) {
                return taken.computeIfAbsent(id, k -> new AtomicInteger()).get();
            }
        }
    }
}
