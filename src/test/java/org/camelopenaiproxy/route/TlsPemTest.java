package org.camelopenaiproxy.route;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.TestCertificates;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** TLS from a PEM certificate and key, no client certificate needed; a client that does not trust it fails. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.tls.cert-file={{sys:test.pem.dir}}/server-cert.pem",
            "proxy.tls.key-file={{sys:test.pem.dir}}/server-key.pem"})
class TlsPemTest {

    static final Path DIR = TestSetup.named("pem").prepare(dir -> {
        TestCertificates.create(dir, "server");
        TestCertificates.create(dir, "other");
        TestCertificates.exportPem(dir, "server");
    }).exposeDir().dir();
    static final Vertx VERTX = Vertx.vertx();

    private final int port = TestEnv.proxyPort();

    @AfterAll
    static void close() throws Exception {
        VERTX.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private int health(String trusted, boolean http2) throws Exception {
        HttpClientOptions options = new HttpClientOptions().setSsl(true).setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(DIR.resolve(trusted + ".pem").toString()));
        if (http2) {
            options.setUseAlpn(true).setProtocolVersion(HttpVersion.HTTP_2);
        }
        return VERTX.createHttpClient(options)
                .request(new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port).setURI("/observe/health"))
                .compose(req -> req.send())
                .map(r -> r.version() == (http2 ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1) ? r.statusCode() : -r.statusCode())
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void a_pem_certificate_serves_http1_and_http2_and_an_untrusting_client_fails() throws Exception {
        assertEquals(200, health("server", false));
        assertEquals(200, health("server", true), "HTTP/2 over ALPN");
        assertThrows(Exception.class, () -> health("other", false), "a client that does not trust the certificate");
    }
}
