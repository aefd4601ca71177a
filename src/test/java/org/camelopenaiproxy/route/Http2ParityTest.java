package org.camelopenaiproxy.route;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import org.apache.camel.BeanInject;
import org.apache.camel.CamelContext;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.Http2Answer;
import org.camelopenaiproxy.support.PathTricks;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.SilentConnection;
import org.camelopenaiproxy.support.TestCertificates;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP/2 (TLS, ALPN) gets what HTTP/1 gets: a body over its cap is refused with 413 (declared or
 * streamed in parts), a body that stops coming with 408, multipart and streamed uploads reach the
 * upstream byte for byte, an Idempotency-Key repeat is replayed (409 while the first runs), a
 * rate-limited key gets 429 with {@code Retry-After} and {@code x-ratelimit-*}, a slow reader of a
 * long stream loses nothing, path tricks get 400, heads up to {@code max-header-bytes} pass, a
 * silent connection is closed, a refusal while draining arrives. Each test runs over one
 * connection, and most end with a request served on that same connection: an answer that broke
 * the connection, or a stream holding up the others (a body left unread in the connection's
 * flow-control window), shows there. Where HTTP/2 rightly differs (only the stream ends where
 * HTTP/1 closes the connection; GOAWAY instead of {@code Connection: close}) the test says so.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.h2parity.url}}",
            TestEnv.UPSTREAM_API_KEY, "proxy.keys.file={{sys:test.h2parity.keys}}", TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.tls.keystore={{sys:test.h2parity.dir}}/server.p12", "proxy.tls.keystore-password=" + TestCertificates.PASSWORD,
            "proxy.max-request-bytes=65536", "proxy.request-buffer-bytes=32768", "proxy.retry.max-attempts=1",
            "proxy.cache.enabled=false", "proxy.limits.read-timeout-ms=1500",
            "proxy.shutdown.drain-ms=5000"})
@TestInstance(TestInstance.Lifecycle.PER_CLASS) // one proxy for all: each test has its own client and connection
@TestMethodOrder(MethodOrderer.OrderAnnotation.class) // the shutdown test, which stops the proxy, runs last
class Http2ParityTest {

    static final String RPM1_KEY = "sk-h2-one-per-minute";
    static final TestSetup SETUP = TestSetup.named("h2parity").keys("""
            keys:
              - name: unlimited
                key_sha256: {{hash:%s}}
              - name: one-per-minute
                key_sha256: {{hash:%s}}
                limits: { requests_per_minute: 1, tokens_per_minute: 100000 }
            """.formatted(TestEnv.CLIENT_KEY, RPM1_KEY))
            .prepare(dir -> TestCertificates.create(dir, "server")).exposeDir();
    static final Path DIR = SETUP.dir();
    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.h2parity.url");
    static final Vertx VERTX = Vertx.vertx();
    static final String CHAT = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";

    @BeanInject
    CamelContext context;

    private final int port = TestEnv.proxyPort();
    /** What the upstream received: one entry per request, its path and whole body. */
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private HttpClient client;
    private HttpConnection connection;

    private record Received(String path, String contentType, Buffer body) {
    }

    @BeforeEach
    void start() {
        received.clear();
        connection = null;
        // the upstream answers every request with a small JSON body, once it has read the request's body
        answerJson("{\"id\":\"up-1\",\"object\":\"chat.completion\"}");
        client = VERTX.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(DIR.resolve("server.pem").toString()))
                .setUseAlpn(true).setProtocolVersion(HttpVersion.HTTP_2).setConnectTimeout(5000)
                .setHttp2MaxPoolSize(1)
                // the client's own receive window for the connection: Vert.x's default (65,535 bytes,
                // one stream's window) lets an answer this client pauses hold up its other streams,
                // which is the client's doing, not the proxy's
                .setHttp2ConnectionWindowSize(1024 * 1024));
    }

    @AfterEach
    void closeClient() throws Exception {
        client.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterAll
    void close() throws Exception {
        UPSTREAM.close();
        VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private void answerJson(String json) {
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
            req.response().setStatusCode(200).putHeader("Content-Type", "application/json")
                    .putHeader("openai-processing-ms", "5").end(json);
        }));
    }

    private RequestOptions post(String path, String key, String contentType) {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
                .setURI(path).addHeader("Authorization", "Bearer " + key);
        return contentType == null ? options : options.addHeader("Content-Type", contentType);
    }

    private RequestOptions chat(String key) {
        return post("/v1/chat/completions", key, "application/json");
    }

    /**
     * Opens a stream for {@code options}, checks it is HTTP/2 on this test's one connection, and
     * asks for the answer's body in the callback that gets its head (eclipse-vertx/vert.x#5904).
     */
    private HttpClientRequest open(RequestOptions options, CompletableFuture<Http2Answer> answer) throws Exception {
        HttpClientRequest req = Http2Answer.open(client, options, answer);
        if (connection == null) {
            connection = req.connection();
        }
        assertSame(connection, req.connection(), "every request of a test goes over its one HTTP/2 connection");
        return req;
    }

    private Http2Answer send(RequestOptions options, Buffer body) throws Exception {
        CompletableFuture<Http2Answer> answer = new CompletableFuture<>();
        open(options, answer).end(body);
        Http2Answer a = answer.get(10, TimeUnit.SECONDS);
        assertEquals(HttpVersion.HTTP_2, a.version(), a::toString);
        return a;
    }

    private Http2Answer send(RequestOptions options, String body) throws Exception {
        return send(options, Buffer.buffer(body));
    }

    /** The next request on the same connection is served. */
    private void connectionCarriesOn() throws Exception {
        int before = received.size();
        Http2Answer next = send(chat(TestEnv.CLIENT_KEY), CHAT);
        assertEquals(200, next.status(), next::toString);
        assertEquals(before + 1, received.size(), "the next request reached the upstream");
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    // the upstream side

    @Test
    void sequential_requests_reuse_one_upstream_connection_as_over_http1() throws Exception {
        Set<HttpConnection> upstreamConnections = ConcurrentHashMap.newKeySet();
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            upstreamConnections.add(req.connection());
            received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
            if (body.toString().contains("\"stream\":true")) {
                UPSTREAM.streamEvents(req, 2, 1);
            } else {
                req.response().putHeader("Content-Type", "application/json").end("{\"id\":\"x\"}");
            }
        }));
        String stream = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}";
        // HTTP/1: the proxy's pooled upstream connection serves them all
        HttpClient http1 = VERTX.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(DIR.resolve("server.pem").toString())));
        try {
            for (String body : List.of(CHAT, stream, CHAT, stream)) {
                int status = http1.request(chat(TestEnv.CLIENT_KEY))
                        .compose(req -> req.send(body).compose(r -> r.body().map(b -> r.statusCode())))
                        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
                assertEquals(200, status);
            }
        } finally {
            http1.close();
        }
        assertEquals(1, upstreamConnections.size(), "upstream connections for 4 requests over HTTP/1");

        upstreamConnections.clear();
        for (String body : List.of(CHAT, stream, CHAT, stream)) {
            assertEquals(200, send(chat(TestEnv.CLIENT_KEY), body).status());
        }
        assertEquals(1, upstreamConnections.size(), "upstream connections for 4 requests over HTTP/2");
    }

    // the edge

    @Test
    void path_tricks_are_refused_over_http2_as_over_http1() throws Exception {
        for (String path : PathTricks.ALL) {
            Http2Answer refused = send(post(path, TestEnv.CLIENT_KEY, "application/json"), "{}");
            refused.assertOpenAiError(400, "invalid_path");
        }
        assertEquals(0, received.size(), "nothing reached the upstream");
        connectionCarriesOn();
    }

    @Test
    void headers_up_to_max_header_bytes_pass_over_http2_as_over_http1() throws Exception {
        // proxy.limits.max-header-bytes is 16384 by default: a 12 KiB header is within it (one the
        // proxy does not forward: the test upstream has HTTP/1's usual 8 KiB limit). A larger head
        // the client itself refuses to send over HTTP/2: the limit is advertised in SETTINGS.
        Http2Answer big = send(chat(TestEnv.CLIENT_KEY).addHeader("x-padding", "p".repeat(12 * 1024)), CHAT);
        assertEquals(200, big.status(), big::toString);
        connectionCarriesOn();
    }

    // 1. bodies over their cap

    @Test
    void a_body_over_its_cap_gets_413_declared_or_streamed_and_the_connection_carries_on() throws Exception {
        String path = "/v1/containers/cntr_1/files"; // no cap of its own: proxy.max-request-bytes (64 KiB here)
        Buffer part = Buffer.buffer(randomBytes(16 * 1024, 1));

        // declared: refused on the Content-Length before a byte of the body is read
        CompletableFuture<Http2Answer> declared = new CompletableFuture<>();
        HttpClientRequest req = open(post(path, TestEnv.CLIENT_KEY, "application/octet-stream"), declared);
        req.putHeader("Content-Length", Integer.toString(8 * part.length()));
        req.write(part);
        Http2Answer refused = declared.get(10, TimeUnit.SECONDS); // answered while the body is still coming
        refused.assertOpenAiError(413, "request_too_large");
        assertEquals(HttpVersion.HTTP_2, refused.version());
        // the client still sends the body it declared; over HTTP/2 that ends only this stream
        for (int i = 1; i < 7; i++) {
            req.write(part);
        }
        req.end(part).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        connectionCarriesOn();

        // no length: refused as soon as the body passes the cap, the rest still being sent
        CompletableFuture<Http2Answer> streamed = new CompletableFuture<>();
        req = open(post(path, TestEnv.CLIENT_KEY, "application/octet-stream"), streamed);
        req.setChunked(true);
        for (int i = 0; i < 5; i++) { // 80 KiB
            req.write(part);
        }
        refused = streamed.get(10, TimeUnit.SECONDS);
        refused.assertOpenAiError(413, "request_too_large");
        for (int i = 0; i < 3; i++) {
            req.write(part);
        }
        req.end(part).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        connectionCarriesOn();
        assertEquals(2, received.size(), "no refused body reached the upstream: " + received);
    }

    @Test
    void a_body_that_stops_coming_gets_408_and_only_its_stream_ends() throws Exception {
        CompletableFuture<Http2Answer> answer = new CompletableFuture<>();
        HttpClientRequest req = open(chat(TestEnv.CLIENT_KEY), answer);
        req.putHeader("Content-Length", "1000");
        req.write("{\"model\":\"gpt-4o-mini\","); // and no more
        Http2Answer timedOut = answer.get(10, TimeUnit.SECONDS); // proxy.limits.read-timeout-ms is 1.5 s here
        timedOut.assertOpenAiError(408, "request_timeout");
        // over HTTP/1 the connection is closed (the rest of the body may still come); over HTTP/2
        // the answer ends the stream, and the connection's other streams go on
        connectionCarriesOn();
        req.reset();
        connectionCarriesOn();
    }

    // 2. uploads

    @Test
    void a_multipart_upload_and_a_streamed_file_upload_reach_the_upstream_byte_for_byte() throws Exception {
        answerJson("{\"text\":\"hi\"}");
        String boundary = "----h2parity7MA4YWxkTrZu0gW";
        byte[] audio = randomBytes(20_000, 7);
        Buffer multipart = Buffer.buffer(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n"
                + "whisper-1\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n"
                + "Content-Type: audio/mpeg\r\n\r\n").getBytes(StandardCharsets.US_ASCII))
                .appendBytes(audio).appendString("\r\n--" + boundary + "--\r\n");
        Http2Answer transcribed = send(post("/v1/audio/transcriptions", TestEnv.CLIENT_KEY,
                "multipart/form-data; boundary=" + boundary), multipart);
        assertEquals(200, transcribed.status(), transcribed::toString);
        assertEquals("{\"text\":\"hi\"}", transcribed.text());
        assertEquals(1, received.size());
        assertEquals("/v1/audio/transcriptions", received.get(0).path());
        assertEquals("multipart/form-data; boundary=" + boundary, received.get(0).contentType());
        assertArrayEquals(multipart.getBytes(), received.get(0).body().getBytes());

        // a file upload past proxy.request-buffer-bytes (32 KiB here) with a declared length is
        // streamed to the upstream (README: "larger ones (with a Content-Length) are streamed")
        answerJson("{\"id\":\"file-1\"}");
        Buffer file = Buffer.buffer(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
                + "batch\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jsonl\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII))
                .appendBytes(randomBytes(1024 * 1024 + 17, 11)).appendString("\r\n--" + boundary + "--\r\n");
        CompletableFuture<Http2Answer> uploaded = new CompletableFuture<>();
        HttpClientRequest req = open(post("/v1/files", TestEnv.CLIENT_KEY, "multipart/form-data; boundary=" + boundary),
                uploaded);
        req.putHeader("Content-Length", Integer.toString(file.length()));
        int partSize = 16 * 1024;
        for (int at = 0; at < file.length(); at += partSize) { // sent in parts, as an SDK streams a file
            req.write(file.slice(at, Math.min(file.length(), at + partSize)));
        }
        req.end();
        Http2Answer answer = uploaded.get(10, TimeUnit.SECONDS);
        assertEquals(200, answer.status(), answer::toString);
        assertEquals("{\"id\":\"file-1\"}", answer.text());
        assertEquals(2, received.size());
        assertEquals("/v1/files", received.get(1).path());
        assertEquals(file.length(), received.get(1).body().length(), "every byte reached the upstream");
        assertArrayEquals(file.getBytes(), received.get(1).body().getBytes());
        connectionCarriesOn();
    }

    // 3. Idempotency-Key

    @Test
    void an_idempotency_key_repeat_is_replayed_without_a_second_upstream_call() throws Exception {
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"pay once\"}]}";
        Http2Answer first = send(chat(TestEnv.CLIENT_KEY).addHeader("Idempotency-Key", "h2-k-1"), body);
        Http2Answer again = send(chat(TestEnv.CLIENT_KEY).addHeader("Idempotency-Key", "h2-k-1"), body);
        assertEquals(200, first.status(), first::toString);
        assertNull(first.headers().get("idempotent-replayed"));
        assertEquals(200, again.status(), "a replay over HTTP/2, not a reset stream: " + again);
        assertEquals(first.text(), again.text());
        assertEquals("true", again.headers().get("idempotent-replayed"));
        assertEquals("5", again.headers().get("openai-processing-ms"));
        assertEquals(1, received.size(), "the repeat did not reach the upstream");
        connectionCarriesOn();
    }

    @Test
    void a_repeat_on_another_stream_while_the_first_runs_gets_409_then_the_replay() throws Exception {
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
            Context context = Vertx.currentContext();
            held.complete(() -> context.runOnContext(v -> req.response().putHeader("Content-Type", "application/json")
                    .end("{\"id\":\"slow\"}")));
        }));
        String body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
        CompletableFuture<Http2Answer> first = new CompletableFuture<>();
        open(chat(TestEnv.CLIENT_KEY).addHeader("Idempotency-Key", "h2-k-2"), first).end(body);
        Runnable release = held.get(10, TimeUnit.SECONDS); // the first is at the upstream

        // the same key on another stream of the same connection, while the first runs
        Http2Answer second = send(chat(TestEnv.CLIENT_KEY).addHeader("Idempotency-Key", "h2-k-2"), body);
        second.assertOpenAiError(409, "idempotency_key_in_use");
        assertEquals("1", second.headers().get("retry-after"));

        release.run();
        assertEquals("{\"id\":\"slow\"}", first.get(10, TimeUnit.SECONDS).text());
        Http2Answer replayed = send(chat(TestEnv.CLIENT_KEY).addHeader("Idempotency-Key", "h2-k-2"), body);
        assertEquals(200, replayed.status(), replayed::toString);
        assertEquals("{\"id\":\"slow\"}", replayed.text());
        assertEquals("true", replayed.headers().get("idempotent-replayed"));
        assertEquals(1, received.size(), "one upstream call for the three");
    }

    // 4. per-key rate limit

    @Test
    void a_rate_limited_key_gets_429_with_retry_after_and_rate_limit_headers() throws Exception {
        Http2Answer admitted = send(chat(RPM1_KEY), CHAT);
        assertEquals(200, admitted.status(), admitted::toString);
        assertEquals("1", admitted.headers().get("x-ratelimit-limit-requests"));
        assertEquals("0", admitted.headers().get("x-ratelimit-remaining-requests"));
        assertEquals("100000", admitted.headers().get("x-ratelimit-limit-tokens"));

        Http2Answer limited = send(chat(RPM1_KEY), CHAT);
        limited.assertOpenAiError(429, "rate_limit_exceeded");
        assertTrue(limited.text().contains("\"type\":\"requests\""), limited::toString);
        long retryAfter = Long.parseLong(limited.headers().get("retry-after"));
        assertTrue(retryAfter >= 1 && retryAfter <= 60, limited::toString);
        long retryAfterMs = Long.parseLong(limited.headers().get("retry-after-ms"));
        assertTrue(retryAfterMs > 0 && retryAfterMs <= 60_000 && (retryAfterMs + 999) / 1000 == retryAfter,
                limited::toString);
        assertEquals("1", limited.headers().get("x-ratelimit-limit-requests"));
        assertEquals("0", limited.headers().get("x-ratelimit-remaining-requests"));
        assertTrue(limited.headers().get("x-ratelimit-reset-requests").matches("\\d+(\\.\\d+)?(ms|s)"), limited::toString);
        assertEquals("100000", limited.headers().get("x-ratelimit-limit-tokens"), limited::toString);
        assertNotNull(limited.headers().get("x-ratelimit-remaining-tokens"), limited::toString);
        assertNotNull(limited.headers().get("x-ratelimit-reset-tokens"), limited::toString);
        assertEquals(1, received.size(), "the refused request did not reach the upstream");
        connectionCarriesOn();
    }

    // 5. a slow reader of a long stream

    @Test
    void a_slow_reader_of_a_long_stream_gets_every_event_in_order() throws Exception {
        int events = 8000; // about 2 MiB: far past HTTP/2's 64 KiB window and the proxy's write queue
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < events; i++) {
            expected.append(event(i));
        }
        expected.append("data: [DONE]\n\n");
        AtomicLong sent = new AtomicLong();
        AtomicBoolean stalled = new AtomicBoolean();
        CompletableFuture<Void> upstreamDone = new CompletableFuture<>();
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
            if (!body.toString().contains("\"stream\":true")) {
                req.response().putHeader("Content-Type", "application/json").end("{\"id\":\"chat\"}");
                return;
            }
            HttpServerResponse response = req.response().setStatusCode(200).setChunked(true)
                    .putHeader("Content-Type", "text/event-stream; charset=utf-8");
            writeEvents(response, 0, events, sent, stalled, upstreamDone);
        }));

        CompletableFuture<HttpClientResponse> head = new CompletableFuture<>();
        CompletableFuture<Buffer> all = new CompletableFuture<>();
        Context[] clientContext = new Context[1];
        HttpClientRequest req = client.request(chat(TestEnv.CLIENT_KEY)).toCompletionStage().toCompletableFuture()
                .get(5, TimeUnit.SECONDS);
        connection = req.connection();
        req.response().onSuccess(r -> {
            r.pause(); // reads nothing: the proxy must hold off, not drop
            Buffer body = Buffer.buffer();
            r.handler(body::appendBuffer);
            r.endHandler(v -> all.complete(body));
            r.exceptionHandler(all::completeExceptionally);
            clientContext[0] = Vertx.currentContext();
            head.complete(r);
        }).onFailure(head::completeExceptionally);
        req.end("{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}");

        HttpClientResponse response = head.get(10, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode());
        assertEquals(HttpVersion.HTTP_2, response.version());
        // back-pressure reaches the upstream (it waits for its write queue to drain), or the
        // buffers on the way held all of it
        Await.until(10, () -> "the upstream blocked by the paused client after 128 KiB, or done; sent " + sent.get(),
                () -> stalled.get() && sent.get() > 128 * 1024 || upstreamDone.isDone() ? Boolean.TRUE : null);
        // meanwhile another stream of the connection is served: one slow reader holds up only its own
        Http2Answer other = send(chat(TestEnv.CLIENT_KEY), CHAT);
        assertEquals(200, other.status(), other::toString);
        clientContext[0].runOnContext(v -> response.resume());

        Buffer body = all.get(20, TimeUnit.SECONDS);
        upstreamDone.get(5, TimeUnit.SECONDS);
        String text = body.toString(StandardCharsets.UTF_8);
        assertEquals(expected.length(), text.length(), "every byte arrived");
        assertEquals(expected.toString(), text, "every event, in order");
        connectionCarriesOn();
    }

    // a silent connection

    @Test
    void a_silent_connection_is_closed_but_not_while_a_stream_is_open() throws Exception {
        // the upstream takes longer than proxy.limits.read-timeout-ms (1.5 s here) to answer: an
        // open stream is not silence
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
            UPSTREAM.vertx().setTimer(2000, id -> req.response().putHeader("Content-Type", "application/json")
                    .end("{\"id\":\"slow\"}"));
        }));
        Http2Answer slow = send(chat(TestEnv.CLIENT_KEY), CHAT);
        assertEquals(200, slow.status(), slow::toString);
        assertEquals("{\"id\":\"slow\"}", slow.text());

        // then nothing more: the proxy closes the connection, as it closes an HTTP/1 keep-alive one
        SilentConnection.assertClosedAfterSilence(connection, 1000); // read-timeout-ms is 1.5 s here
    }

    // shutdown

    @Test
    @Order(Integer.MAX_VALUE)
    void on_shutdown_a_new_stream_is_refused_while_a_stream_in_flight_on_its_connection_completes() throws Exception {
        UPSTREAM.script(req -> req.body().onSuccess(body -> {
            received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
            UPSTREAM.streamEvents(req, 16, 60); // about 1 s: well inside the drain
        }));
        CompletableFuture<Http2Answer> stream = new CompletableFuture<>();
        open(chat(TestEnv.CLIENT_KEY), stream).end("{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}");
        Await.until(10, "the stream under way", () -> received.isEmpty() ? null : Boolean.TRUE);
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
            try {
                context.stop(); // what camel-main's SIGTERM hook does
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        RequestOptions ready = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
                .setURI("/observe/health/ready");
        Await.until(5, "readiness DOWN", () -> send(ready, "").status() == 503 ? Boolean.TRUE : null);

        Http2Answer refused = send(chat(TestEnv.CLIENT_KEY), CHAT); // a new stream on the same connection
        assertEquals(503, refused.status(), refused::toString);
        assertTrue(refused.text().contains("shutting down"), refused::toString);
        assertNull(refused.headers().get("connection"), "no connection-specific header in HTTP/2 (RFC 9113 8.2.2)");
        assertFalse(stream.isDone(), "the stream is still in flight");

        Http2Answer answer = stream.get(10, TimeUnit.SECONDS);
        assertEquals(200, answer.status(), answer::toString);
        assertTrue(answer.text().endsWith("data: [DONE]\n\n"), answer::toString);
        assertEquals(16, answer.text().split("chat.completion.chunk", -1).length - 1, "every event arrived");
        stopped.get(10, TimeUnit.SECONDS);
    }

    /** The scripted upstream's answer to all but an upload (/v1/files): the request recorded, a chat completion. */
    private boolean answeredAsChat(HttpServerRequest req) {
        if (req.path().equals("/v1/files")) {
            return false;
        }
        req.body().onSuccess(body -> {
            received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
            req.response().putHeader("Content-Type", "application/json").end("{\"id\":\"chat\"}");
        });
        return true;
    }

    // HTTP/2 only: streams share their connection

    @Test
    void an_upload_held_by_a_slow_upstream_does_not_hold_up_the_other_streams_of_its_connection() throws Exception {
        CompletableFuture<Runnable> held = new CompletableFuture<>();
        UPSTREAM.script(req -> {
            if (answeredAsChat(req)) {
                return;
            }
            req.pause(); // reads none of the upload until the test lets it
            Buffer body = Buffer.buffer();
            req.handler(body::appendBuffer);
            req.endHandler(v -> {
                received.add(new Received(req.path(), req.getHeader("Content-Type"), body));
                req.response().putHeader("Content-Type", "application/json").end("{\"id\":\"file-1\"}");
            });
            Context context = Vertx.currentContext();
            held.complete(() -> context.runOnContext(v -> req.resume()));
        });

        // 16 MiB: more than the socket buffers between proxy and upstream hold, so the upload stalls
        Buffer file = Buffer.buffer(randomBytes(16 * 1024 * 1024, 5));
        CompletableFuture<Http2Answer> uploaded = new CompletableFuture<>();
        HttpClientRequest upload = open(post("/v1/files", TestEnv.CLIENT_KEY, "application/octet-stream"), uploaded);
        upload.putHeader("Content-Length", Integer.toString(file.length()));
        Upload writer = new Upload(upload, file);
        Context clientContext = VERTX.getOrCreateContext();
        clientContext.runOnContext(v -> writer.next());
        Runnable release = held.get(10, TimeUnit.SECONDS);
        // the upload stops: the client's stream has bytes queued and gets no more window for a while
        Await.until(20, () -> "the upload stalled; sent " + writer.written, () -> writer.stalledFor(500) ? Boolean.TRUE : null);
        assertFalse(uploaded.isDone(), "the upload is still held");

        Http2Answer chat = send(chat(TestEnv.CLIENT_KEY), CHAT); // the same connection, another stream
        assertEquals(200, chat.status(), chat::toString);
        assertFalse(uploaded.isDone(), "the upload is still held");

        release.run();
        Http2Answer answer = uploaded.get(20, TimeUnit.SECONDS);
        assertEquals(200, answer.status(), answer::toString);
        Received seen = received.stream().filter(r -> r.path().equals("/v1/files")).findFirst().orElseThrow();
        assertEquals(file.length(), seen.body().length(), "every byte of the upload reached the upstream");
        assertArrayEquals(file.getBytes(), seen.body().getBytes());
        connectionCarriesOn();
    }

    @Test
    void a_client_resetting_its_upload_cancels_the_upstream_call_and_the_connection_carries_on() throws Exception {
        AtomicLong upstreamGot = new AtomicLong();
        CompletableFuture<Long> uploadEnded = new CompletableFuture<>();
        UPSTREAM.script(req -> {
            if (answeredAsChat(req)) {
                return;
            }
            req.handler(chunk -> upstreamGot.addAndGet(chunk.length()));
            req.exceptionHandler(e -> { });
            req.endHandler(v -> { // a truncated upload must never look complete to the upstream
                uploadEnded.complete(upstreamGot.get());
                req.response().putHeader("Content-Type", "application/json").end("{\"id\":\"file-1\"}");
            });
        });
        Buffer file = Buffer.buffer(randomBytes(1024 * 1024, 13));
        CompletableFuture<Http2Answer> uploaded = new CompletableFuture<>();
        HttpClientRequest upload = open(post("/v1/files", TestEnv.CLIENT_KEY, "application/octet-stream"), uploaded);
        upload.putHeader("Content-Length", Integer.toString(file.length()));
        upload.write(file.slice(0, 256 * 1024));
        Await.until(10, () -> "the upload flowing to the upstream; got " + upstreamGot.get(),
                () -> upstreamGot.get() >= 64 * 1024 ? Boolean.TRUE : null);

        long left = System.nanoTime();
        upload.reset(); // RST_STREAM (CANCEL): this stream only
        long closedAt = UPSTREAM.connectionClosed().get(5, TimeUnit.SECONDS);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(closedAt - left) < 1000, "the upstream call outlived the upload");
        assertFalse(uploadEnded.isDone(), "the upstream took " + uploadEnded.getNow(null) + " bytes for a whole upload");
        connectionCarriesOn();
    }

    @Test
    void an_upload_the_upstream_refuses_before_reading_it_gets_the_refusal_and_the_connection_carries_on() throws Exception {
        String refusal = "{\"error\":{\"message\":\"too big\",\"type\":\"invalid_request_error\",\"param\":null,"
                + "\"code\":\"file_too_large\"}}";
        UPSTREAM.script(req -> {
            if (answeredAsChat(req)) {
                return;
            }
            // answers at once, before reading the body (the rest of it is then read and dropped)
            received.add(new Received(req.path(), req.getHeader("Content-Type"), Buffer.buffer()));
            req.response().setStatusCode(413).putHeader("Content-Type", "application/json").end(refusal);
        });
        Buffer file = Buffer.buffer(randomBytes(1024 * 1024, 9));
        CompletableFuture<Http2Answer> uploaded = new CompletableFuture<>();
        HttpClientRequest upload = open(post("/v1/files", TestEnv.CLIENT_KEY, "application/octet-stream"), uploaded);
        upload.putHeader("Content-Length", Integer.toString(file.length()));
        upload.end(file);
        Http2Answer answer = uploaded.get(10, TimeUnit.SECONDS);
        assertEquals(413, answer.status(), answer::toString);
        assertEquals(refusal, answer.text());
        connectionCarriesOn();

        // refused again, and this time the client gives up before its body is all sent: the
        // upstream request is then short of its Content-Length, and its connection must not carry
        // the next request (the upstream would read that as the rest of the body)
        for (int i = 0; i < 3; i++) {
            CompletableFuture<Http2Answer> refused = new CompletableFuture<>();
            HttpClientRequest partial = open(post("/v1/files", TestEnv.CLIENT_KEY, "application/octet-stream"), refused);
            partial.putHeader("Content-Length", Integer.toString(file.length()));
            partial.write(file.slice(0, 256 * 1024));
            assertEquals(413, refused.get(10, TimeUnit.SECONDS).status());
            partial.reset();
            Http2Answer next = send(chat(TestEnv.CLIENT_KEY), CHAT);
            assertEquals(200, next.status(), next::toString);
            assertEquals(CHAT, received.get(received.size() - 1).body().toString(), "the upstream read the next request whole");
        }
    }

    /** Writes a body in 16 KiB parts as fast as the stream takes them, noting when it last moved on. */
    private static final class Upload {
        private final HttpClientRequest request;
        private final Buffer body;
        private volatile int written;
        private volatile long movedAt = System.nanoTime();

        Upload(HttpClientRequest request, Buffer body) {
            this.request = request;
            this.body = body;
        }

        void next() {
            movedAt = System.nanoTime();
            while (written < body.length() && !request.writeQueueFull()) {
                int end = Math.min(body.length(), written + 16 * 1024);
                request.write(body.slice(written, end));
                written = end;
            }
            if (written == body.length()) {
                request.end();
            } else {
                request.drainHandler(v -> next());
            }
        }

        /** Whether the stream has had no room for more of the body for {@code millis}. */
        boolean stalledFor(long millis) {
            return written < body.length() && request.writeQueueFull()
                    && System.nanoTime() - movedAt > TimeUnit.MILLISECONDS.toNanos(millis);
        }
    }

    /** Writes events as fast as the proxy takes them, waiting for a drain when its write queue is full. */
    private static void writeEvents(HttpServerResponse response, int from, int count, AtomicLong sent,
            AtomicBoolean stalled, CompletableFuture<Void> done) {
        int i = from;
        while (i < count && !response.writeQueueFull()) {
            String event = event(i++);
            response.write(event);
            sent.addAndGet(event.length());
        }
        if (i == count) {
            response.end("data: [DONE]\n\n").onComplete(v -> done.complete(null));
            return;
        }
        int next = i;
        stalled.set(true);
        response.drainHandler(v -> {
            stalled.set(false);
            writeEvents(response, next, count, sent, stalled, done);
        });
    }

    private static String event(int i) {
        return "data: {\"id\":\"chatcmpl-h2\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\"event " + i + " " + "x".repeat(160) + "\"}}]}\n\n";
    }
}
