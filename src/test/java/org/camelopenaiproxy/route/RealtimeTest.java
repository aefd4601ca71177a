package org.camelopenaiproxy.route;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.AppendedFile;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.camelopenaiproxy.support.Metrics;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.WebSocketUpstream;
import org.camelopenaiproxy.support.WebSocketUpstream.Frame;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * WebSocket pass-through (the Realtime API): frames both ways unchanged and in order, closes both
 * ways, the upstream's refusal passed on, the proxy's policy applied before the upgrade, the browser
 * subprotocol key, open sessions counted against max_concurrent, the idle limit.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.realtime.upstream}}",
            TestEnv.UPSTREAM_API_KEY, "proxy.keys.file={{sys:test.realtime.keys}}", TestEnv.NO_RELOAD,
            TestEnv.QUICK_STOP, "proxy.websocket.idle-ms=3000", "proxy.websocket.max-frame-bytes=262144",
            "proxy.access-log.uri=stream:file?fileName={{sys:test.realtime.access}}"})
class RealtimeTest {

    static final String KEYS = """
            aliases:
              voice: gpt-4o-realtime-preview
            keys:
              - name: realtime-team
                key_sha256: {{hash:sk-rt}}
              - name: one-session
                key_sha256: {{hash:sk-rt-one}}
                limits: { max_concurrent: 1 }
              - name: mini-only
                key_sha256: {{hash:sk-rt-mini}}
                models: ["gpt-4o-mini*"]
              - name: chat-only
                key_sha256: {{hash:sk-rt-chat}}
                endpoints: ["/v1/chat/completions"]
            """;
    static final TestSetup SETUP = TestSetup.named("realtime").keys(KEYS).file("access", "access.jsonl", "");
    static final Path KEYS_FILE = SETUP.keysFile();
    static final WebSocketUpstream UPSTREAM;
    static final Vertx CLIENT_VERTX = Vertx.vertx();
    static final WebSocketClient CLIENT = CLIENT_VERTX.createWebSocketClient(new WebSocketClientOptions()
            .setMaxFrameSize(1 << 20).setMaxMessageSize(1 << 22));
    static final String MODEL_URI = "/v1/realtime?model=gpt-4o-realtime-preview&foo=b%20r";
    static final ObjectMapper JSON = new ObjectMapper();

    static final Path ACCESS_LOG = SETUP.path("access.jsonl");

    static {
        try {
            UPSTREAM = new WebSocketUpstream();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        SETUP.value("upstream", UPSTREAM.baseUrl());
    }

    private final int proxyPort = TestEnv.proxyPort(); // TestEnv's static set-up runs before the context starts

    @AfterAll
    static void stop() throws Exception {
        UPSTREAM.close();
        CLIENT_VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void reset() {
        UPSTREAM.reset();
    }

    /** The client's end of a session: data frames, pongs and the close as they arrive. */
    static final class Session {
        final WebSocket ws;
        final LinkedBlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<Buffer> pongs = new LinkedBlockingQueue<>();
        final CompletableFuture<Short> closed = new CompletableFuture<>();
        volatile String closeReason;

        Session(WebSocket ws) {
            this.ws = ws;
            ws.frameHandler(f -> {
                if (f.isText() || f.isBinary() || f.isContinuation()) {
                    frames.add(Frame.of(f));
                }
            });
            ws.pongHandler(pongs::add);
            ws.closeHandler(v -> {
                closeReason = ws.closeReason();
                closed.complete(ws.closeStatusCode());
            });
        }

        Frame next() throws InterruptedException {
            Frame f = frames.poll(10, TimeUnit.SECONDS);
            assertNotNull(f, "no frame arrived");
            return f;
        }
    }

    private CompletableFuture<Session> open(String uri, MultiMap headers, List<String> subprotocols) {
        WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(proxyPort)
                .setURI(uri).setHeaders(headers);
        if (subprotocols != null) {
            options.setSubProtocols(subprotocols);
        }
        return CLIENT.connect(options).map(Session::new).toCompletionStage().toCompletableFuture();
    }

    private Session open(String key) throws Exception {
        return open(MODEL_URI, bearer(key), null).get(10, TimeUnit.SECONDS);
    }

    private static MultiMap bearer(String key) {
        return HttpHeaders.headers().add("Authorization", "Bearer " + key).add("OpenAI-Beta", "realtime=v1");
    }

    /** The refusal of a handshake the proxy did not upgrade. */
    private UpgradeRejectedException refused(CompletableFuture<Session> attempt) throws Exception {
        try {
            Session s = attempt.get(10, TimeUnit.SECONDS);
            s.ws.close();
            throw new AssertionError("the handshake was accepted");
        } catch (ExecutionException e) {
            return assertInstanceOf(UpgradeRejectedException.class, e.getCause());
        }
    }

    private static JsonNode assertOpenAiError(UpgradeRejectedException e, int status, String code) throws Exception {
        assertEquals(status, e.getStatus());
        assertTrue(e.getHeaders().get("content-type").startsWith("application/json"));
        JsonNode error = JSON.readTree(e.getBody().toString()).get("error");
        assertNotNull(error, e.getBody().toString());
        for (String field : new String[] {"message", "type", "param", "code"}) {
            assertTrue(error.has(field), "error lacks " + field);
        }
        assertEquals(code, error.get("code").asText());
        assertFalse(e.getBody().toString().contains("Exception"));
        return error;
    }

    @Test
    void text_and_binary_frames_pass_both_ways_unchanged_and_in_order() throws Exception {
        Session s = open("sk-rt");
        // the upstream greets at once, before the proxy had upgraded the client: nothing may be lost
        Frame greeting = s.next();
        assertEquals(new Frame("text", true, Buffer.buffer(WebSocketUpstream.GREETING)), greeting);

        Random random = new Random(42);
        List<Frame> sent = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Frame f;
            if (i % 3 == 0) {
                byte[] bytes = new byte[1 + random.nextInt(i == 39 ? 60_000 : 4096)];
                random.nextBytes(bytes);
                f = new Frame("binary", true, Buffer.buffer(bytes));
            } else {
                f = new Frame("text", true, Buffer.buffer("{\"type\":\"input_audio_buffer.append\",\"i\":" + i
                        + ",\"text\":\"h\u00e9llo \u4e16\u754c \uD83D\uDE00\"}", "UTF-8"));
            }
            sent.add(f);
        }
        // one fragmented text message, split inside a multi-byte character
        byte[] utf8 = "fragm\u00e9nt\u00e9".getBytes(StandardCharsets.UTF_8);
        sent.add(new Frame("text", false, Buffer.buffer(java.util.Arrays.copyOfRange(utf8, 0, 6))));
        sent.add(new Frame("continuation", true, Buffer.buffer(java.util.Arrays.copyOfRange(utf8, 6, utf8.length))));
        for (Frame f : sent) {
            s.ws.writeFrame(WebSocketUpstream.copy(f));
        }

        List<Frame> echoed = new ArrayList<>();
        for (int i = 0; i < sent.size(); i++) {
            echoed.add(s.next());
        }
        assertEquals(sent, UPSTREAM.received(), "client -> upstream");
        assertEquals(sent, echoed, "upstream -> client");
        s.ws.close();
    }

    @Test
    void a_slow_client_slows_the_upstream_down_instead_of_filling_the_proxy() throws Exception {
        int frameSize = 32 * 1024;
        int cap = 1536; // 48 MiB: far beyond what socket buffers hold
        CompletableFuture<Integer> sentUntilStalled = new CompletableFuture<>();
        UPSTREAM.behaviour(ws -> ws.textMessageHandler(go -> new Pump(ws, frameSize, cap, sentUntilStalled).run()));
        Session s = open("sk-rt");
        s.ws.pause(); // the client stops reading
        s.ws.writeTextMessage("go");
        int sent = sentUntilStalled.get(60, TimeUnit.SECONDS);
        assertTrue(sent < cap, "the upstream could write " + sent + " frames to a client that reads nothing");

        s.ws.resume();
        for (int i = 0; i < sent; i++) {
            Frame f = s.frames.poll(30, TimeUnit.SECONDS);
            assertNotNull(f, "frame " + i + " of " + sent + " never arrived");
            assertEquals(i, f.data().getInt(0), "out of order");
            assertEquals(frameSize, f.data().length());
        }
        s.ws.close();
    }

    /**
     * Writes numbered binary frames as fast as the connection drains them, until {@code cap} or until
     * no drain came for two seconds (the reader stopped, and the stop reached this writer).
     */
    static final class Pump {
        final io.vertx.core.http.ServerWebSocket ws;
        final int frameSize;
        final int cap;
        final CompletableFuture<Integer> result;
        int sent;
        long stallTimer = -1;

        Pump(io.vertx.core.http.ServerWebSocket ws, int frameSize, int cap, CompletableFuture<Integer> result) {
            this.ws = ws;
            this.frameSize = frameSize;
            this.cap = cap;
            this.result = result;
        }

        void run() {
            if (stallTimer >= 0) {
                UPSTREAM.vertx().cancelTimer(stallTimer);
            }
            while (sent < cap && !ws.writeQueueFull()) {
                Buffer frame = Buffer.buffer(new byte[frameSize]);
                frame.setInt(0, sent++);
                ws.writeBinaryMessage(frame);
            }
            if (sent >= cap) {
                result.complete(sent);
                return;
            }
            stallTimer = UPSTREAM.vertx().setTimer(2000, id -> result.complete(sent));
            ws.drainHandler(v -> {
                if (!result.isDone()) {
                    run();
                }
            });
        }
    }

    @Test
    void client_frames_up_to_the_limit_pass_and_a_larger_one_ends_the_session_on_both_sides() throws Exception {
        Session s = open("sk-rt");
        s.next();
        byte[] big = new byte[200_000]; // over Vert.x's 64 KiB default, under proxy.websocket.max-frame-bytes
        new Random(7).nextBytes(big);
        s.ws.writeFrame(WebSocketFrame.binaryFrame(Buffer.buffer(big), true));
        assertEquals(new Frame("binary", true, Buffer.buffer(big)), s.next(), "a 200 kB frame passes unchanged");

        s.ws.writeFrame(WebSocketFrame.binaryFrame(Buffer.buffer(new byte[300_000]), true));
        s.closed.get(10, TimeUnit.SECONDS);
        assertNotNull(UPSTREAM.closeSeen().get(10, TimeUnit.SECONDS), "the upstream session ends with the client's");
        assertEquals(1, UPSTREAM.received().size(), "the oversized frame never reached the upstream");
    }

    @Test
    void pings_are_answered() throws Exception {
        Session s = open("sk-rt");
        s.ws.writePing(Buffer.buffer("are you there"));
        Buffer pong = s.pongs.poll(10, TimeUnit.SECONDS);
        assertEquals(Buffer.buffer("are you there"), pong);
        s.ws.close();
    }

    @Test
    void a_closed_session_is_one_access_log_line_and_is_counted_in_the_metrics() throws Exception {
        String requestId = "rt-session-1";
        Session s = open(MODEL_URI, bearer("sk-rt").add("x-request-id", requestId), null).get(10, TimeUnit.SECONDS);
        s.next(); // greeting
        s.ws.writeTextMessage("{\"type\":\"response.create\"}");
        s.next(); // its echo
        s.ws.close((short) 1000, "done");
        s.closed.get(10, TimeUnit.SECONDS);

        JsonNode line = Await.until(10, "the session's access-log line", () -> AppendedFile.lines(ACCESS_LOG).stream()
                .filter(l -> l.contains(requestId)).findFirst().map(l -> {
                    try {
                        return JSON.readTree(l);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }).orElse(null));
        assertEquals("/v1/realtime", line.path("endpoint").asText());
        assertEquals("realtime-team", line.path("key").asText());
        assertEquals(101, line.path("status").asInt());
        assertEquals("gpt-4o-realtime-preview", line.path("model").asText());
        JsonNode session = line.path("session");
        assertEquals(1, session.path("frames_to_upstream").asLong());
        assertEquals(2, session.path("frames_to_client").asLong());
        assertEquals("{\"type\":\"response.create\"}".length(), session.path("bytes_to_upstream").asLong());
        assertEquals(1000, session.path("close_code").asInt());
        assertEquals("client", session.path("closed_by").asText());

        Metrics m = Metrics.scrape(new ProxyClient(TestEnv.proxyUrl()));
        assertEquals(1, m.value("proxy_requests_total", "endpoint", "/v1/realtime", "key", "realtime-team", "status", "101"));
        assertEquals(1, m.value("proxy_websocket_frames_total", "direction", "to_upstream"));
        assertEquals(2, m.value("proxy_websocket_frames_total", "direction", "to_client"));
        assertEquals(1, m.value("proxy_websocket_session_duration_seconds_count", "endpoint", "/v1/realtime"));
        assertEquals(0, m.value("proxy_requests_in_flight"));
    }

    @Test
    void a_close_by_the_client_reaches_the_upstream_with_its_code_and_reason() throws Exception {
        Session s = open("sk-rt");
        s.next(); // greeting
        s.ws.close((short) 4001, "user hung up");
        assertEquals((short) 4001, UPSTREAM.closeSeen().get(10, TimeUnit.SECONDS));
        assertEquals("user hung up", UPSTREAM.closeReasonSeen());
        assertEquals((short) 4001, s.closed.get(10, TimeUnit.SECONDS), "the close handshake was not completed");
    }

    @Test
    void a_close_by_the_upstream_reaches_the_client_with_its_code_and_reason() throws Exception {
        Session s = open("sk-rt");
        UPSTREAM.nextSession().close((short) 4008, "session expired");
        assertEquals((short) 4008, s.closed.get(10, TimeUnit.SECONDS));
        assertEquals("session expired", s.closeReason);
    }

    @Test
    void the_upstream_refusing_the_upgrade_gives_the_client_its_status_and_body() throws Exception {
        String body = "{\"error\":{\"message\":\"Model gpt-x does not exist\",\"type\":\"invalid_request_error\","
                      + "\"param\":null,\"code\":\"model_not_found\"}}";
        UPSTREAM.refuseWith(req -> new WebSocketUpstream.Refusal(404, "application/json", body));
        UpgradeRejectedException e = refused(open(MODEL_URI, bearer("sk-rt"), null));
        assertEquals(404, e.getStatus());
        assertEquals(body, e.getBody().toString());
        assertTrue(e.getHeaders().get("content-type").startsWith("application/json"));
        assertEquals(1, UPSTREAM.handshakes().size(), "a 404 is not worth another try");
    }

    @Test
    void the_browser_subprotocol_key_is_accepted_and_never_forwarded() throws Exception {
        Session s = open(MODEL_URI, HttpHeaders.headers(),
                List.of("realtime", "openai-insecure-api-key.sk-rt", "openai-beta.realtime-v1"))
                .get(10, TimeUnit.SECONDS);
        assertEquals("realtime", s.ws.subProtocol(), "the upstream's choice must reach the client");
        s.next();
        WebSocketUpstream.Handshake seen = UPSTREAM.handshakes().get(0);
        assertEquals(List.of("realtime", "openai-beta.realtime-v1"),
                List.of(seen.headers().get("Sec-WebSocket-Protocol").split(" *, *")));
        assertEquals("Bearer " + TestEnv.UPSTREAM_KEY, seen.headers().get("Authorization"));
        assertFalse(seen.headers().toString().contains("sk-rt"), "the proxy key went upstream");
        s.ws.close();
    }

    @Test
    void the_upstream_gets_its_own_key_the_allowed_headers_and_the_query_as_sent() throws Exception {
        MultiMap headers = bearer("sk-rt").add("Cookie", "session=secret").add("X-Request-Id", "rt-req-1");
        Session s = open(MODEL_URI, headers, null).get(10, TimeUnit.SECONDS);
        s.next();
        WebSocketUpstream.Handshake seen = UPSTREAM.handshakes().get(0);
        assertEquals("/v1/realtime?model=gpt-4o-realtime-preview&foo=b%20r", seen.uri());
        assertEquals("Bearer " + TestEnv.UPSTREAM_KEY, seen.headers().get("Authorization"));
        assertEquals("realtime=v1", seen.headers().get("OpenAI-Beta"));
        assertEquals("rt-req-1", seen.headers().get("X-Request-Id"));
        assertNull(seen.headers().get("Cookie"));
        assertNull(seen.headers().get("Sec-WebSocket-Protocol"));
        s.ws.close();
    }

    @Test
    void a_model_alias_in_the_query_reaches_the_upstream_as_the_real_name() throws Exception {
        Session s = open("/v1/realtime?foo=1&model=voice", bearer("sk-rt"), null).get(10, TimeUnit.SECONDS);
        s.next();
        assertEquals("/v1/realtime?foo=1&model=gpt-4o-realtime-preview", UPSTREAM.handshakes().get(0).uri());
        s.ws.close();
    }

    @Test
    void the_proxy_refuses_before_the_upgrade_with_openai_shaped_errors() throws Exception {
        assertOpenAiError(refused(open(MODEL_URI, bearer("sk-wrong"), null)), 401, "invalid_api_key");
        assertOpenAiError(refused(open(MODEL_URI, HttpHeaders.headers(), List.of("realtime"))), 401, "invalid_api_key");
        assertOpenAiError(refused(open(MODEL_URI, bearer("sk-rt-mini"), null)), 403, "model_not_allowed");
        assertOpenAiError(refused(open(MODEL_URI, bearer("sk-rt-chat"), null)), 403, "endpoint_not_allowed");
        assertEquals(0, UPSTREAM.handshakes().size(), "a refused session reached the upstream");

        Session allowed = open("/v1/realtime?model=gpt-4o-mini-realtime-preview", bearer("sk-rt-mini"), null)
                .get(10, TimeUnit.SECONDS);
        allowed.next();
        allowed.ws.close();
    }

    @Test
    void an_open_session_holds_its_concurrency_slot_until_it_closes() throws Exception {
        Session first = open("sk-rt-one");
        first.next();
        JsonNode error = assertOpenAiError(refused(open(MODEL_URI, bearer("sk-rt-one"), null)), 429,
                "rate_limit_exceeded");
        assertEquals("concurrency", error.get("type").asText());
        assertEquals(1, UPSTREAM.handshakes().size());

        first.ws.close();
        first.closed.get(10, TimeUnit.SECONDS);
        Session second = Await.until(10, "the slot released when the session closed", () -> {
            try {
                return open(MODEL_URI, bearer("sk-rt-one"), null).get(10, TimeUnit.SECONDS);
            } catch (ExecutionException stillHeld) {
                return null;
            }
        });
        second.next();
        second.ws.close();
    }

    @Test
    void a_silent_session_is_closed_after_the_idle_limit() throws Exception {
        Session s = open("sk-rt");
        s.next();
        long opened = System.nanoTime();
        assertEquals((short) 1001, s.closed.get(20, TimeUnit.SECONDS));
        assertEquals("idle timeout", s.closeReason);
        assertEquals((short) 1001, UPSTREAM.closeSeen().get(10, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - opened >= TimeUnit.MILLISECONDS.toNanos(2500), "closed before the idle limit");
    }

    @Test
    void plain_http_requests_still_take_the_http_pipeline() throws Exception {
        ProxyClient http = new ProxyClient(TestEnv.proxyUrl());
        java.net.http.HttpResponse<String> r = http.send(http.request("/v1/models")
                .header("Authorization", "Bearer sk-wrong").GET().build());
        assertEquals(401, r.statusCode());
        assertEquals(0, UPSTREAM.handshakes().size());
    }
}
