package org.camelopenaiproxy.e2e;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real SIGTERM to the jar (what Kubernetes sends on a rolling deploy) while a 16-event stream is
 * in flight: the stream completes with [DONE], then the process exits, with the stream's
 * access-log line written.
 */
class SigtermDrainIT {

    @TempDir
    Path dir;

    @Test
    void sigterm_lets_the_open_stream_finish_then_exits_with_its_access_log_line_written() throws Exception {
        try (ScriptedUpstream upstream = new ScriptedUpstream()) {
            AtomicInteger seen = new AtomicInteger();
            upstream.script(req -> {
                seen.incrementAndGet();
                upstream.streamEvents(req, 16, 100);
            });
            Path keys = dir.resolve("keys.yaml");
            TestEnv.writeKeys(keys, "drain", TestEnv.CLIENT_KEY);
            int port = TestEnv.freePort();
            Path log = dir.resolve("proxy.log");
            Path access = dir.resolve("access.jsonl");
            ProcessBuilder pb = new ProcessBuilder(ProxyJarIT.java(), "-jar", "target/camel-openai-proxy.jar")
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            Map<String, String> env = pb.environment();
            env.put("PROXY_PORT", Integer.toString(port));
            env.put("PROXY_HOST", "127.0.0.1");
            env.put("PROXY_KEYS_FILE", keys.toString());
            env.put("OPENAI_BASE_URL", upstream.baseUrl());
            env.put("OPENAI_API_KEY", "sk-upstream-drain");
            env.put("PROXY_ROUTES_RELOAD_ENABLED", "false");
            env.put("PROXY_ACCESS_LOG_URI", "stream:file?fileName=" + access);
            env.put("PROXY_AUDIT_URI", "stream:file?fileName=" + dir.resolve("audit.jsonl"));
            env.put("PROXY_DEAD_LETTER_URI", "stream:file?fileName=" + dir.resolve("dl.jsonl"));
            Process proxy = pb.start();
            try {
                ProxyClient client = new ProxyClient("http://127.0.0.1:" + port);
                Await.until(60, "the proxy healthy", () -> {
                    assertTrue(proxy.isAlive(), () -> ProxyJarIT.read(log));
                    try {
                        return client.send(client.request("/observe/health").GET().build()).statusCode() == 200 ? Boolean.TRUE : null;
                    } catch (java.io.IOException notYet) {
                        return null;
                    }
                });
                CompletableFuture<HttpResponse<String>> stream = client.http().sendAsync(
                        client.authorized("/v1/chat/completions").header("x-request-id", "req-sigterm")
                                .POST(HttpRequest.BodyPublishers.ofString(
                                        "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                Await.until(10, "the stream under way", () -> seen.get() > 0 ? Boolean.TRUE : null);

                proxy.destroy(); // SIGTERM

                HttpResponse<String> answer = stream.get(20, TimeUnit.SECONDS);
                long answered = System.nanoTime();
                assertEquals(200, answer.statusCode());
                assertTrue(answer.body().endsWith("data: [DONE]\n\n"), answer.body());
                assertEquals(16, answer.body().split("chat.completion.chunk", -1).length - 1, answer.body());
                assertTrue(proxy.waitFor(30, TimeUnit.SECONDS), "the proxy exits once drained");
                // once the last answer is out, the exit does not wait for idle sink threads (Camel's
                // default poll of 1 s per seda route made it about 4 s)
                long exitMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - answered);
                assertTrue(exitMillis < 3000, "exited " + exitMillis + " ms after the last answer");
                String lines = Files.exists(access) ? Files.readString(access, StandardCharsets.UTF_8) : "";
                assertTrue(lines.contains("req-sigterm"), "access-log line written before exit: " + lines);
            } finally {
                proxy.destroyForcibly();
            }
        }
    }
}
