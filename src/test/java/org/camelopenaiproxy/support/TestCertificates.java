package org.camelopenaiproxy.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Key stores made by the JDK's keytool for TLS tests: a PKCS#12 key pair and its certificate as PEM. */
public final class TestCertificates {

    public static final String PASSWORD = "changeit";

    private TestCertificates() {
    }

    /** Makes {@code name}.p12 (key pair for CN=localhost, SAN localhost and 127.0.0.1) and {@code name}.pem in {@code dir}. */
    public static void create(Path dir, String name) throws IOException, InterruptedException {
        Path p12 = dir.resolve(name + ".p12");
        run(List.of(keytool(), "-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost, O=" + name, "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", p12.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD));
        run(List.of(keytool(), "-exportcert", "-rfc", "-alias", name, "-keystore", p12.toString(), "-storepass", PASSWORD,
                "-file", dir.resolve(name + ".pem").toString()));
    }

    /** Writes {@code name}-cert.pem and {@code name}-key.pem (PKCS#8) from {@code name}.p12, as a PEM-configured server reads them. */
    public static void exportPem(Path dir, String name) throws Exception {
        java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(dir.resolve(name + ".p12"))) {
            store.load(in, PASSWORD.toCharArray());
        }
        java.security.Key key = store.getKey(name, PASSWORD.toCharArray());
        java.security.cert.Certificate cert = store.getCertificate(name);
        java.util.Base64.Encoder b64 = java.util.Base64.getMimeEncoder(64, "\n".getBytes());
        Files.writeString(dir.resolve(name + "-key.pem"), "-----BEGIN PRIVATE KEY-----\n"
                + b64.encodeToString(key.getEncoded()) + "\n-----END PRIVATE KEY-----\n");
        Files.writeString(dir.resolve(name + "-cert.pem"), "-----BEGIN CERTIFICATE-----\n"
                + b64.encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
    }

    private static String keytool() {
        return Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool failed: " + out);
        }
    }

    public static boolean exists(Path dir, String name) {
        return Files.exists(dir.resolve(name + ".p12"));
    }
}
