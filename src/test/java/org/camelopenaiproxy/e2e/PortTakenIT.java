package org.camelopenaiproxy.e2e;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A proxy whose API port is taken exits with status 1 and one line saying so, rather than running
 * on without its API listener (Camel would otherwise log a warning and carry on). Once the port is
 * free, the same command starts and serves.
 */
class PortTakenIT {

    @TempDir
    static Path dir;

    @Test
    void a_taken_port_ends_the_start_with_one_line_and_a_free_one_serves() throws Exception {
        Path log = dir.resolve("taken.log");
        int port;
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = taken.getLocalPort();
            Process proxy = launcher(port, log).start();
            assertTrue(proxy.waitFor(60, TimeUnit.SECONDS), "the proxy did not exit: " + Files.readString(log));
            String out = Files.readString(log);
            assertEquals(1, proxy.exitValue(), out);
            assertTrue(out.contains("camel-openai-proxy did not start: Cannot listen on 127.0.0.1:" + port), out);
            assertFalse(out.contains("\tat "), "a stack trace on the console: " + out);
        }
        // the port is free again: the same command serves
        Process proxy = launcher(port, dir.resolve("free.log")).start();
        try {
            ProxyClient client = new ProxyClient("http://127.0.0.1:" + port);
            Await.until(60, () -> "the proxy healthy on the freed port", () -> {
                assertTrue(proxy.isAlive(), () -> "proxy exited: " + read(dir.resolve("free.log")));
                try {
                    return client.send(client.request("/observe/health").GET().build()).statusCode() == 200 ? true : null;
                } catch (java.io.IOException notYet) {
                    return null;
                }
            });
        } finally {
            proxy.destroy();
            proxy.waitFor(20, TimeUnit.SECONDS);
        }
    }

    private static ProcessBuilder launcher(int port, Path log) {
        ProcessBuilder pb = new ProcessBuilder("bin/camel-openai-proxy").redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("PROXY_PORT", Integer.toString(port));
        env.put("PROXY_HOST", "127.0.0.1");
        env.put("PROXY_KEYS_FILE", dir.resolve("keys.yaml").toString());
        env.put("PROXY_AUDIT_URI", "stream:file?fileName=" + dir.resolve("audit.jsonl"));
        env.put("PROXY_DEAD_LETTER_URI", "stream:file?fileName=" + dir.resolve("dead-letter.jsonl"));
        return pb;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "";
        }
    }
}
