package org.camelopenaiproxy.route;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.PfxOptions;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.RawHttp;
import org.camelopenaiproxy.support.TestCertificates;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS on the API listener from a PKCS#12 key store, client certificates required (mTLS) against a
 * PEM trust file, HTTP/2 offered over ALPN; a client without a trusted certificate, or speaking
 * plain HTTP, gets nothing.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.tls.keystore={{sys:test.tls.dir}}/server.p12",
            "proxy.tls.keystore-password=" + TestCertificates.PASSWORD, "proxy.tls.client-auth=required",
            "proxy.tls.trust-file={{sys:test.tls.dir}}/client.pem"})
class TlsTest {

    static final Path DIR = TestSetup.named("tls").prepare(dir -> {
        for (String name : new String[] {"server", "client", "stranger"}) {
            TestCertificates.create(dir, name);
        }
    }).exposeDir().dir();
    static final Vertx VERTX = Vertx.vertx();

    private final WireMockServer upstream = TestEnv.upstream();
    private final int port = TestEnv.proxyPort();

    @AfterAll
    static void close() throws Exception {
        VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void reset() {
        upstream.resetAll();
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody("data: {\"n\":1}\n\ndata: [DONE]\n\n")));
    }

    private HttpClient client(String certificate, boolean http2) {
        HttpClientOptions options = new HttpClientOptions().setSsl(true).setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(DIR.resolve("server.pem").toString()))
                .setConnectTimeout(5000);
        if (certificate != null) {
            options.setKeyCertOptions(new PfxOptions().setPath(DIR.resolve(certificate + ".p12").toString())
                    .setPassword(TestCertificates.PASSWORD));
        }
        if (http2) {
            options.setUseAlpn(true).setProtocolVersion(HttpVersion.HTTP_2);
        }
        return VERTX.createHttpClient(options);
    }

    private record Answer(int status, HttpVersion version, String cache, String body) {
    }

    private Answer send(HttpClient client, String body) throws Exception {
        return exchange(client, new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
                .setURI("/v1/chat/completions").addHeader("Authorization", "Bearer " + TestEnv.CLIENT_KEY)
                .addHeader("Content-Type", "application/json"), body);
    }

    /**
     * One request and its whole answer. The body is asked for in the callback that receives the
     * response head, on the client's event loop: asked for later (a {@code compose} attached from
     * this thread after the head was in), an answer that ended meanwhile is lost and the body never
     * completes (eclipse-vertx/vert.x#5904), which is how a quick 401 once "hung" here.
     */
    private static Answer exchange(HttpClient client, RequestOptions options, String body) throws Exception {
        return client.request(options)
                .compose(req -> req.send(Buffer.buffer(body)).compose(r -> r.body()
                        .map(b -> new Answer(r.statusCode(), r.version(), r.getHeader("x-proxy-cache"), b.toString()))))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void a_trusted_client_certificate_gets_in_over_http2_and_streams_pass() throws Exception {
        HttpClient http2 = client("client", true);
        Answer answer = send(http2, "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, answer.status());
        assertEquals(HttpVersion.HTTP_2, answer.version(), "HTTP/2 negotiated over ALPN");
        assertEquals("data: {\"n\":1}\n\ndata: [DONE]\n\n", answer.body());
        // refused before the body is read: only that stream ends, the connection carries on
        Answer refused = exchange(http2, new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
                .setURI("/v1/chat/completions"), "{}");
        assertEquals(401, refused.status());
        assertEquals(200, send(http2, "{\"model\":\"gpt-4o-mini\"}").status());

        Answer http11 = send(client("client", false), "{\"model\":\"gpt-4o-mini\"}");
        assertEquals(200, http11.status());
        assertEquals(HttpVersion.HTTP_1_1, http11.version());
    }

    @Test
    void over_http2_an_answer_written_after_the_body_was_read_arrives() throws Exception {
        HttpClient http2 = client("client", true);
        String cacheable = "{\"model\":\"gpt-4o-mini\",\"messages\":[],\"temperature\":0}";
        Answer live = send(http2, cacheable);
        assertEquals(200, live.status());
        assertEquals(HttpVersion.HTTP_2, live.version());
        // the body is read (it is the cache key), then the stored answer is written whole
        Answer hit = send(http2, cacheable);
        assertEquals(200, hit.status(), "a cache hit over HTTP/2, not a reset stream");
        assertEquals("HIT", hit.cache());
        assertEquals(live.body(), hit.body());
        assertEquals(1, upstream.getAllServeEvents().size(), "the hit did not reach the upstream");
        // refused after the body was read (it is not JSON): the error arrives, not a reset stream
        Answer refused = send(http2, "{\"model\":");
        assertEquals(400, refused.status());
        assertTrue(refused.body().contains("\"code\":\"invalid_json\""), refused.body());
        assertEquals(200, send(http2, "{\"model\":\"gpt-4o-mini\"}").status(), "the connection carries on");
    }

    @Test
    void without_a_trusted_client_certificate_the_handshake_is_refused() {
        assertThrows(Exception.class, () -> send(client(null, false), "{}"), "no certificate");
        assertThrows(Exception.class, () -> send(client("stranger", true), "{}"), "a certificate nobody trusts");
        assertEquals(0, upstream.getAllServeEvents().size(), "nothing reached the upstream");
    }

    @Test
    void plain_http_on_the_tls_port_gets_no_answer() throws Exception {
        RawHttp.Reply reply = RawHttp.send(port, "GET /observe/health HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(reply.statuses().isEmpty() || reply.status() >= 400, reply.toString());
        assertFalse(reply.text().contains("\"UP\""), reply.toString());
    }
}
