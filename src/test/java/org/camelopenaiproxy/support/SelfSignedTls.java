package org.camelopenaiproxy.support;

import java.nio.file.Files;
import java.nio.file.Path;

import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PfxOptions;

/**
 * A self-signed server certificate made with the JDK's {@code keytool} for {@code localhost} and
 * 127.0.0.1: the key store for a test TLS server, and the certificate as a PEM file a client can
 * trust as its CA bundle.
 */
public final class SelfSignedTls {

    private final Path keyStore;
    private final Path caPem;

    private SelfSignedTls(Path keyStore, Path caPem) {
        this.keyStore = keyStore;
        this.caPem = caPem;
    }

    public static SelfSignedTls create() throws Exception {
        Path dir = Files.createTempDirectory("upstream-tls");
        TestCertificates.create(dir, "upstream");
        return new SelfSignedTls(dir.resolve("upstream.p12"), dir.resolve("upstream.pem"));
    }

    /** Server options for an HTTPS/WSS server with this certificate. */
    public HttpServerOptions serverOptions() {
        return new HttpServerOptions().setSsl(true)
                .setKeyCertOptions(new PfxOptions().setPath(keyStore.toString()).setPassword(TestCertificates.PASSWORD));
    }

    /** The certificate as PEM: the CA file that makes it trusted. */
    public Path caPem() {
        return caPem;
    }
}
