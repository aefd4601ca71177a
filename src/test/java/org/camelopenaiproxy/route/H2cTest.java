package org.camelopenaiproxy.route;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Http2Answer;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.SilentConnection;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cleartext HTTP/2 ({@code proxy.http2.cleartext=true}) gets what HTTP/2 over TLS gets, both ways
 * a client starts it: with prior knowledge (the connection opens with the HTTP/2 preface) and by
 * upgrade (the first request goes as HTTP/1.1 with {@code Upgrade: h2c}, its answer and every
 * later request over HTTP/2). Vert.x makes such a connection only once the preface or the first
 * request head has been decoded, so what the proxy does per connection (its read deadline, its
 * limits) is checked here on both. Each test runs over one connection and ends with a request
 * served on that same connection.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.h2c.url}}",
            TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.http2.cleartext=true", "proxy.limits.read-timeout-ms=1500",
            "proxy.retry.max-attempts=1", "proxy.cache.enabled=false"})
@TestInstance(TestInstance.Lifecycle.PER_CLASS) // one proxy for all: each test has its own client and connection
class H2cTest {

    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.h2c.url");
    static final Vertx VERTX = Vertx.vertx();
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
    static final String STREAM = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}";

    /** How the client starts HTTP/2 on its cleartext connection. */
    enum Start {
        PRIOR_KNOWLEDGE, UPGRADE
    }

    private final int port = TestEnv.proxyPort();
    /** What the upstream received: one body per request. */
    private final List<String> received = new CopyOnWriteArrayList<>();
    private HttpClient client;
    private HttpConnection connection;

    @BeforeEach
    void start() {
        received.clear();
        connection = null;
        answerJson("{\"id\":\"up-1\",\"object\":\"chat.completion\"}");
    }

    @AfterEach
    void closeClient() throws Exception {
        if (client != null) {
            client.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            client = null;
        }
    }

    @AfterAll
    void close() throws Exception {
        UPSTREAM.close();
        VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private void connect(Start start) {
        client = VERTX.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(start == Start.UPGRADE)
                // the upgrade with the test's first request itself, not with an OPTIONS before it
                .setHttp2ClearTextUpgradeWithPreflightRequest(false)
                .setConnectTimeout(5000).setHttp2MaxPoolSize(1));
    }

    private void answerJson(String json) {
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(body.toString(StandardCharsets.UTF_8));
            req.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(json);
        }));
    }

    private RequestOptions chat() {
        return new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
                .setURI("/v1/chat/completions").addHeader("Authorization", "Bearer " + TestEnv.CLIENT_KEY)
                .addHeader("Content-Type", "application/json");
    }

    /** Opens a request on this test's one connection; its answer (head and whole body) completes {@code answer}. */
    private HttpClientRequest open(RequestOptions options, CompletableFuture<Http2Answer> answer) throws Exception {
        HttpClientRequest req = Http2Answer.open(client, options, answer);
        if (connection == null) {
            connection = req.connection();
        }
        assertSame(connection, req.connection(), "every request of a test goes over its one connection");
        return req;
    }

    private Http2Answer send(String body) throws Exception {
        CompletableFuture<Http2Answer> answer = new CompletableFuture<>();
        open(chat(), answer).end(body);
        return answer.get(10, TimeUnit.SECONDS);
    }

    /** A request answered over HTTP/2 with 200, having reached the upstream. */
    private Http2Answer served(String body) throws Exception {
        int before = received.size();
        Http2Answer answer = send(body);
        assertEquals(200, answer.status(), answer::toString);
        assertEquals(HttpVersion.HTTP_2, answer.version(), answer::toString);
        assertEquals(before + 1, received.size(), "the request reached the upstream");
        return answer;
    }

    // 1. plain requests

    @ParameterizedTest
    @EnumSource(Start.class)
    void two_chat_requests_are_served_over_http2_on_one_connection(Start start) throws Exception {
        connect(start);
        Http2Answer first = served(CHAT);
        assertEquals("{\"id\":\"up-1\",\"object\":\"chat.completion\"}", first.text());
        assertEquals(CHAT, received.get(0), "the upstream got the first body whole");
        served(CHAT);
        assertEquals(CHAT, received.get(1));
    }

    // 2. an answer written after the body was read

    @ParameterizedTest
    @EnumSource(Start.class)
    void an_error_written_after_the_body_was_read_arrives_and_the_connection_carries_on(Start start) throws Exception {
        connect(start);
        // the body is read whole before it is found invalid: the answer follows its last byte
        Http2Answer refused = send("{\"model\":");
        refused.assertOpenAiError(400, "invalid_json");
        assertEquals(HttpVersion.HTTP_2, refused.version(), refused::toString);
        assertEquals(0, received.size(), "nothing reached the upstream");
        served(CHAT);
        served(CHAT);
    }

    // 3. a stream the client resets

    @ParameterizedTest
    @EnumSource(Start.class)
    void a_stream_the_client_resets_cancels_the_upstream_call_and_the_connection_carries_on(Start start) throws Exception {
        connect(start);
        served(CHAT); // over an upgrade: the first request upgrades, the stream below is a plain HTTP/2 one
        resetCancelsTheUpstreamCallAndTheConnectionCarriesOn(longStreamUnderWay());
    }

    @Test
    void the_upgrade_request_itself_reset_mid_stream_cancels_the_upstream_call_and_the_connection_carries_on()
            throws Exception {
        connect(Start.UPGRADE);
        // the stream is the upgrade request: sent as HTTP/1.1 with Upgrade: h2c, answered on HTTP/2 stream 1
        resetCancelsTheUpstreamCallAndTheConnectionCarriesOn(longStreamUnderWay());
    }

    /** A 20 s stream on this test's connection, its first event received over HTTP/2. */
    private HttpClientRequest longStreamUnderWay() throws Exception {
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(body.toString(StandardCharsets.UTF_8));
            UPSTREAM.streamEvents(req, 200, 100);
        }));
        CompletableFuture<Void> firstEvent = new CompletableFuture<>();
        CompletableFuture<HttpVersion> version = new CompletableFuture<>();
        HttpClientRequest stream = client.request(chat()).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        if (connection == null) {
            connection = stream.connection();
        }
        assertSame(connection, stream.connection());
        stream.response().onSuccess(r -> {
            version.complete(r.version());
            r.handler(chunk -> firstEvent.complete(null));
            r.exceptionHandler(e -> { }); // the reset ends it
        }).onFailure(firstEvent::completeExceptionally);
        stream.end(STREAM);
        firstEvent.get(10, TimeUnit.SECONDS);
        assertEquals(HttpVersion.HTTP_2, version.get(1, TimeUnit.SECONDS));
        return stream;
    }

    /** Resetting the stream (RST_STREAM CANCEL: this stream only) cancels its upstream call within 1 s; the next request is served. */
    private void resetCancelsTheUpstreamCallAndTheConnectionCarriesOn(HttpClientRequest stream) throws Exception {
        long left = System.nanoTime();
        stream.reset();
        long closedAt = UPSTREAM.connectionClosed().get(5, TimeUnit.SECONDS);
        long cancelMs = TimeUnit.NANOSECONDS.toMillis(closedAt - left);
        assertTrue(cancelMs < 1000, "upstream call still open " + cancelMs + " ms after the client reset its stream");

        answerJson("{\"id\":\"after\"}");
        assertEquals("{\"id\":\"after\"}", served(CHAT).text());
    }

    // 4. a silent connection

    @ParameterizedTest
    @EnumSource(Start.class)
    void a_silent_connection_is_closed_after_the_read_timeout_but_not_while_a_stream_is_open(Start start) throws Exception {
        connect(start);
        // the upstream takes longer than proxy.limits.read-timeout-ms (1.5 s here) to answer: an
        // open stream is not silence
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(body.toString(StandardCharsets.UTF_8));
            UPSTREAM.vertx().setTimer(2000, id -> req.response().putHeader("Content-Type", "application/json")
                    .end("{\"id\":\"slow\"}"));
        }));
        assertEquals("{\"id\":\"slow\"}", served(CHAT).text());

        // then nothing more: the proxy closes the connection
        SilentConnection.assertClosedAfterSilence(connection, 1000); // read-timeout-ms is 1.5 s here
    }

    @Test
    void a_connection_that_stops_before_vertx_made_an_http_connection_of_it_is_closed_after_the_read_timeout()
            throws Exception {
        // neither a preface nor a whole request head: Vert.x has not made an HTTP connection of it
        // yet, and the proxy's own head deadline (ConnectionGuard) does not know of it. All three at
        // once: each is timed from its own opening.
        List<Socket> sockets = new ArrayList<>();
        List<Long> opened = new ArrayList<>();
        try {
            for (Opening opening : Opening.values()) {
                Socket socket = new Socket();
                sockets.add(socket);
                socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                socket.getOutputStream().write(opening.bytes.getBytes(StandardCharsets.US_ASCII));
                opened.add(System.nanoTime());
                socket.setSoTimeout(6000);
            }
            for (int i = 0; i < sockets.size(); i++) {
                Opening opening = Opening.values()[i];
                int read;
                try {
                    read = sockets.get(i).getInputStream().read();
                } catch (SocketTimeoutException e) {
                    throw new AssertionError(opening + ": a silent connection still open 6 s on (read-timeout-ms is 1.5 s)");
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - opened.get(i));
                assertEquals(-1, read, opening + ": closed, with nothing written");
                assertTrue(ms >= 1000 && ms < 4000, opening + ": closed after " + ms + " ms, read-timeout-ms is 1500");
            }
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }

    /** What a connection sends before it falls silent. */
    enum Opening {
        NOTHING(""),
        /** Part of an HTTP/1.1 head (Vert.x has chosen HTTP/1, or an upgrade, and waits for the rest). */
        PART_OF_A_HEAD("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
        /** Part of the HTTP/2 preface (Vert.x waits for the rest to choose). */
        PART_OF_THE_PREFACE("PRI * HTTP/2.0\r\n");

        final String bytes;

        Opening(String bytes) {
            this.bytes = bytes;
        }
    }

    // 5. the upgrade itself

    @Test
    void an_upgrade_request_with_a_body_gets_its_answer_and_the_next_requests_run_over_http2() throws Exception {
        connect(Start.UPGRADE);
        // a body larger than a stream's flow-control window (65,535 bytes): the upgrade request's
        // body comes over HTTP/1.1, outside HTTP/2's flow control
        String content = "x".repeat(100_000);
        String big = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
        Http2Answer first = send(big);
        assertEquals(200, first.status(), first::toString);
        assertEquals(HttpVersion.HTTP_2, first.version(), "the upgrade request's answer comes over HTTP/2: " + first);
        assertEquals(big, received.get(0), "the upstream got the upgrade request's body whole");
        Http2Answer second = served(CHAT);
        assertEquals(HttpVersion.HTTP_2, second.version());
        served(big);
        assertEquals(big, received.get(2));
    }
}
