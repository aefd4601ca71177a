package org.camelopenaiproxy.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.camelopenaiproxy.pipeline.auth.KeyHashes;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

/**
 * What every route test shares, once per test JVM: a WireMock upstream on 127.0.0.1, a free port for
 * the proxy and a keys file with one known client key. Exposed to the proxy's configuration as
 * system properties, which {@link #PROPERTIES} refers to.
 */
public final class TestEnv {

    public static final String CLIENT_KEY = "sk-proxy-test-client-key-0001";
    public static final String OTHER_CLIENT_KEY = "sk-proxy-test-client-key-0002";
    public static final String UPSTREAM_KEY = "sk-upstream-test-secret-9f8e7d";

    public static final String PORT = "proxy.port={{sys:test.proxy.port}}";
    public static final String HOST = "proxy.host=127.0.0.1";
    public static final String UPSTREAM = "proxy.upstream.base-url={{sys:test.upstream.url}}";
    public static final String UPSTREAM_API_KEY = "proxy.upstream.api-key=" + UPSTREAM_KEY;
    public static final String KEYS = "proxy.keys.file={{sys:test.keys.file}}";
    public static final String NO_RELOAD = "proxy.routes.reload-enabled=false";
    public static final String QUICK_STOP = "camel.main.shutdown-timeout=1";
    public static final String DEFAULTS = "classpath:proxy-defaults.properties";

    private static final WireMockServer UPSTREAM_SERVER;
    private static final int PROXY_PORT;
    private static final Path KEYS_FILE;

    static {
        UPSTREAM_SERVER = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort()
                .asynchronousResponseEnabled(true).containerThreads(32));
        UPSTREAM_SERVER.start();
        PROXY_PORT = freePort();
        try {
            KEYS_FILE = Files.createTempFile("proxy-keys", ".yaml");
            writeKeys(KEYS_FILE, "test-team", CLIENT_KEY);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.setProperty("test.proxy.port", Integer.toString(PROXY_PORT));
        System.setProperty("test.upstream.url", UPSTREAM_SERVER.baseUrl() + "/v1");
        System.setProperty("test.keys.file", KEYS_FILE.toString());
    }

    private TestEnv() {
    }

    public static WireMockServer upstream() {
        return UPSTREAM_SERVER;
    }

    public static int proxyPort() {
        return PROXY_PORT;
    }

    public static String proxyUrl() {
        return "http://127.0.0.1:" + PROXY_PORT;
    }

    public static Path keysFile() {
        return KEYS_FILE;
    }

    /** Writes a keys file holding the given (name, key) pairs, hashed. */
    public static void writeKeys(Path file, String... nameKeyPairs) throws IOException {
        StringBuilder yaml = new StringBuilder("keys:\n");
        for (int i = 0; i < nameKeyPairs.length; i += 2) {
            yaml.append("  - name: ").append(nameKeyPairs[i]).append('\n')
                    .append("    key_sha256: ").append(KeyHashes.sha256Hex(nameKeyPairs[i + 1])).append('\n');
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** A fresh keys file holding {@code yaml}; {@code {{hash:KEY}}} is replaced by the SHA-256 of KEY. */
    public static Path keysFileWith(String yaml) {
        try {
            Path file = Files.createTempFile("proxy-keys", ".yaml");
            rewriteKeys(file, yaml);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces the content of a keys file atomically (same {@code {{hash:KEY}}} convention). */
    public static void rewriteKeys(Path file, String yaml) throws IOException {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{\\{hash:([^}]+)}}").matcher(yaml);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, KeyHashes.sha256Hex(m.group(1)));
        }
        m.appendTail(out);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, out);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
