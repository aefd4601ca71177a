package org.camelopenaiproxy.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

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

    /** {@link #freePort()}: this fork's block of ports (declared before the static block that uses it). */
    private static final int PORT_BLOCK = 2000;
    /** Fork 1 (surefire's first) 22000.., fork 2 24000.., no fork number (failsafe) 20000..; all below 32768. */
    private static final int PORT_BLOCK_START = 20000 + Math.floorMod(Integer.getInteger("test.fork", 0), 6) * PORT_BLOCK;
    private static final AtomicInteger NEXT_PORT =
            new AtomicInteger(ThreadLocalRandom.current().nextInt(PORT_BLOCK));

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

    /**
     * A port nobody listens on now, for a server a test starts itself (the proxy, a management port),
     * or for one nobody should answer on. It is taken below the kernel's ephemeral range, where
     * servers started on port 0 (WireMock, Vert.x) and the source ports of outgoing connections never
     * land: a port from that range could be taken by such a bind, in this JVM or in the other test
     * fork, between this check and the test's own bind. (That happened once: the other fork's
     * WireMock, starting at the same moment, took this fork's proxy port, and every class of the
     * fork failed to start its proxy.) Each surefire fork ({@code test.fork}, its fork number) has
     * its own block of ports, so two forks never pick the same one.
     */
    public static int freePort() {
        if (PORT_BLOCK_START + PORT_BLOCK > ephemeralLow()) {
            return ephemeralPort(); // an unusual ephemeral range: the old way
        }
        for (int tries = 0; tries < PORT_BLOCK; tries++) {
            int port = PORT_BLOCK_START + Math.floorMod(NEXT_PORT.getAndIncrement(), PORT_BLOCK);
            try (ServerSocket s = new ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException taken) {
                // someone has it: the next one
            }
        }
        throw new IllegalStateException("no free port in " + PORT_BLOCK_START + ".." + (PORT_BLOCK_START + PORT_BLOCK - 1));
    }

    /** The first port of the kernel's ephemeral range (Linux), 32768 when it cannot be read. */
    private static int ephemeralLow() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException unknown) {
            return 32768;
        }
    }

    private static int ephemeralPort() {
        try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
