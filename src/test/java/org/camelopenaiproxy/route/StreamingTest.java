package org.camelopenaiproxy.route;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Server-sent events pass through event by event; a client that leaves cancels the upstream call;
 * failures after the stream began end it with an error event.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.scripted.url}}",
            TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.timeout.idle-ms=800"})
class StreamingTest {

    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.scripted.url");

    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @AfterAll
    static void stopUpstream() throws Exception {
        UPSTREAM.close();
    }

    private HttpResponse<InputStream> openStream() throws Exception {
        return client.http().send(client.authorized("/v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}"))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    @Test
    void events_arrive_one_by_one_as_the_upstream_sends_them() throws Exception {
        UPSTREAM.script(req -> UPSTREAM.streamEvents(req, 6, 300));
        long start = System.nanoTime();
        HttpResponse<InputStream> response = openStream();

        List<Long> arrivals = new ArrayList<>();
        StringBuilder received = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                received.append(line).append('\n');
                if (line.startsWith("data: ")) {
                    arrivals.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                }
            }
        }

        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertEquals("no-cache", response.headers().firstValue("cache-control").orElse(null));
        assertEquals("no", response.headers().firstValue("x-accel-buffering").orElse(null));
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            expected.append(ScriptedUpstream.event(i));
        }
        expected.append("data: [DONE]\n\n");
        assertEquals(expected.toString(), received.toString());
        assertEquals(7, arrivals.size());
        // the upstream spaces events 300 ms apart (1.8 s in all): the first must not wait for the last
        long spread = arrivals.get(6) - arrivals.get(0);
        assertTrue(spread >= 1200, "events arrived in a lump: " + arrivals);
        for (int i = 1; i < arrivals.size(); i++) {
            assertTrue(arrivals.get(i) >= arrivals.get(i - 1), "out of order: " + arrivals);
        }
    }

    @Test
    void client_leaving_mid_stream_cancels_the_upstream_call_within_a_second() throws Exception {
        UPSTREAM.script(req -> UPSTREAM.streamEvents(req, 200, 100)); // a 20 s stream
        HttpResponse<InputStream> response = openStream();
        InputStream body = response.body();
        byte[] first = new byte[16];
        assertTrue(body.read(first) > 0);

        long left = System.nanoTime();
        body.close(); // the client goes away

        long closedAt = UPSTREAM.connectionClosed().get(5, TimeUnit.SECONDS);
        long cancelMs = TimeUnit.NANOSECONDS.toMillis(closedAt - left);
        assertTrue(cancelMs < 1000, "upstream call still open " + cancelMs + " ms after the client left");
    }

    @Test
    void upstream_dropping_mid_stream_ends_the_stream_with_an_error_event_and_is_not_retried() throws Exception {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        UPSTREAM.script(req -> {
            calls.incrementAndGet();
            req.response().setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream");
            req.response().write(ScriptedUpstream.event(0));
            UPSTREAM.vertx().setTimer(200, id -> req.connection().close());
        });

        HttpResponse<String> response = client.send(client.authorized("/v1/chat/completions")
                .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build());

        assertEquals(200, response.statusCode());
        assertTrue(response.body().startsWith(ScriptedUpstream.event(0)), response.body());
        String last = response.body().substring(ScriptedUpstream.event(0).length());
        assertTrue(last.startsWith("data: {\"error\":{"), "no error event: " + response.body());
        assertTrue(last.endsWith("\n\n"));
        assertEquals(1, calls.get(), "a stream that began must never be retried");
    }

    @Test
    void upstream_going_silent_mid_stream_ends_it_after_the_idle_timeout() throws Exception {
        UPSTREAM.script(req -> {
            req.response().setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream");
            req.response().write(ScriptedUpstream.event(0)); // then nothing, connection kept open
        });

        long start = System.nanoTime();
        HttpResponse<String> response = client.send(client.authorized("/v1/chat/completions")
                .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build());
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertEquals(200, response.statusCode());
        assertTrue(response.body().contains("\"code\":\"upstream_timeout\""), response.body());
        assertTrue(tookMs < 10_000, "stream hung for " + tookMs + " ms");
    }
}
