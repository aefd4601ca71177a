package org.camelopenaiproxy.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PfxOptions;

/**
 * A self-signed server certificate made with the JDK's {@code keytool} for {@code localhost} and
 * 127.0.0.1: the key store for a test TLS server, and the certificate as a PEM file a client can
 * trust as its CA bundle.
 */
public final class SelfSignedTls {

    private static final String PASSWORD = "test-store-pass";

    private final Path keyStore;
    private final Path caPem;

    private SelfSignedTls(Path keyStore, Path caPem) {
        this.keyStore = keyStore;
        this.caPem = caPem;
    }

    public static SelfSignedTls create() throws Exception {
        Path dir = Files.createTempDirectory("upstream-tls");
        Path keyStore = dir.resolve("upstream.p12");
        Path caPem = dir.resolve("upstream-ca.pem");
        run(List.of("keytool", "-genkeypair", "-alias", "upstream", "-keyalg", "RSA", "-keysize", "2048",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
                "-keystore", keyStore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD));
        run(List.of("keytool", "-exportcert", "-rfc", "-alias", "upstream", "-keystore", keyStore.toString(),
                "-storetype", "PKCS12", "-storepass", PASSWORD, "-file", caPem.toString()));
        return new SelfSignedTls(keyStore, caPem);
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + new String(out));
        }
    }

    /** Server options for an HTTPS/WSS server with this certificate. */
    public HttpServerOptions serverOptions() {
        return new HttpServerOptions().setSsl(true)
                .setKeyCertOptions(new PfxOptions().setPath(keyStore.toString()).setPassword(PASSWORD));
    }

    /** The certificate as PEM: the CA file that makes it trusted. */
    public Path caPem() {
        return caPem;
    }
}
