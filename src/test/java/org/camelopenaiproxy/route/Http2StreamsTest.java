package org.camelopenaiproxy.route;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.TestCertificates;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stream over HTTP/2 (TLS, ALPN) that its client cancels: the client resets only that stream
 * (RST_STREAM), its connection stays open. The upstream call is cancelled as when an HTTP/1 client
 * closes its connection, and the next request on the same connection is served.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.scripted.url}}",
            TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.tls.keystore={{sys:test.h2.dir}}/server.p12", "proxy.tls.keystore-password=" + TestCertificates.PASSWORD})
class Http2StreamsTest {

    static final Path DIR = TestSetup.named("h2").prepare(dir -> TestCertificates.create(dir, "server")).exposeDir().dir();
    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.scripted.url");
    static final Vertx VERTX = Vertx.vertx();

    private final int port = TestEnv.proxyPort();

    @AfterAll
    static void close() throws Exception {
        UPSTREAM.close();
        VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private HttpClient http2() {
        return VERTX.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(DIR.resolve("server.pem").toString()))
                .setUseAlpn(true).setProtocolVersion(HttpVersion.HTTP_2).setConnectTimeout(5000));
    }

    private static RequestOptions chat(int port) {
        return new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
                .setURI("/v1/chat/completions").addHeader("Authorization", "Bearer " + TestEnv.CLIENT_KEY)
                .addHeader("Content-Type", "application/json");
    }

    @Test
    void a_client_resetting_its_stream_cancels_the_upstream_call_and_the_connection_carries_on() throws Exception {
        UPSTREAM.script(req -> UPSTREAM.streamEvents(req, 200, 100)); // a 20 s stream
        HttpClient client = http2();
        CompletableFuture<HttpClientRequest> firstEvent = new CompletableFuture<>();
        CompletableFuture<HttpVersion> version = new CompletableFuture<>();
        client.request(chat(port)).onSuccess(req -> {
            req.response().onSuccess(r -> {
                version.complete(r.version());
                r.handler(chunk -> firstEvent.complete(req));
                r.exceptionHandler(e -> { }); // the reset below ends it
            }).onFailure(firstEvent::completeExceptionally);
            req.end(Buffer.buffer("{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}"));
        }).onFailure(firstEvent::completeExceptionally);

        HttpClientRequest stream = firstEvent.get(10, TimeUnit.SECONDS);
        assertEquals(HttpVersion.HTTP_2, version.get(1, TimeUnit.SECONDS));
        long left = System.nanoTime();
        stream.reset(); // RST_STREAM (CANCEL): this stream only, the connection stays

        long closedAt = UPSTREAM.connectionClosed().get(5, TimeUnit.SECONDS);
        long cancelMs = TimeUnit.NANOSECONDS.toMillis(closedAt - left);
        assertTrue(cancelMs < 1000, "upstream call still open " + cancelMs + " ms after the client reset its stream");

        UPSTREAM.script(req -> UPSTREAM.streamEvents(req, 2, 10));
        String next = client.request(chat(port))
                .compose(req -> req.send(Buffer.buffer("{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}"))
                        .compose(r -> r.body().map(b -> r.statusCode() + " " + r.version()
                                + (req.connection() == stream.connection() ? " same connection" : " another connection")
                                + "\n" + b)))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals("200 HTTP_2 same connection\n" + ScriptedUpstream.event(0) + ScriptedUpstream.event(1) + "data: [DONE]\n\n", next,
                "the next stream on the same connection");
    }
}
