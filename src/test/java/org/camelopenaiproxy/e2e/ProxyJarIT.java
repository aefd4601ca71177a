package org.camelopenaiproxy.e2e;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end, the way the README runs it: the fat jar started by {@code bin/camel-openai-proxy} (with
 * the class archive {@code mvn package} trained) from the project root, a key made with
 * {@code keys add}, plain HTTP against it, WireMock as the upstream.
 */
class ProxyJarIT {

    static final String UPSTREAM_KEY = "sk-upstream-e2e-secret-4711";

    @TempDir
    static Path dir;
    static WireMockServer upstream;
    static Process proxy;
    static Path log;
    static String clientKey;
    static ProxyClient client;

    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        upstream.start();
        Path keys = dir.resolve("keys.yaml");

        Process add = new ProcessBuilder(java(), "-jar", "target/camel-openai-proxy.jar", "keys", "add", "--name", "e2e",
                "--file", keys.toString()).redirectErrorStream(false).start();
        assertTrue(add.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, add.exitValue());
        clientKey = new String(add.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(clientKey.startsWith("sk-proxy-"), clientKey);

        int port = TestEnv.freePort();
        log = dir.resolve("proxy.log");
        ProcessBuilder pb = new ProcessBuilder("bin/camel-openai-proxy")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("PROXY_PORT", Integer.toString(port));
        env.put("PROXY_HOST", "127.0.0.1");
        env.put("PROXY_KEYS_FILE", keys.toString());
        env.put("OPENAI_BASE_URL", upstream.baseUrl() + "/v1");
        env.put("OPENAI_API_KEY", UPSTREAM_KEY);
        env.put("PROXY_AUDIT_URI", "stream:file?fileName=" + dir.resolve("audit.jsonl"));
        env.put("JAVA_OPTS", "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp")));
        proxy = pb.start();
        client = new ProxyClient("http://127.0.0.1:" + port);

        Await.until(60, () -> "the proxy healthy: " + read(log), () -> {
            assertTrue(proxy.isAlive(), () -> "proxy exited: " + read(log));
            try {
                return client.send(client.request("/observe/health").GET().build()).statusCode() == 200 ? true : null;
            } catch (java.io.IOException notYet) {
                return null; // still starting
            }
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.destroy();
            proxy.waitFor(20, TimeUnit.SECONDS);
        }
        if (upstream != null) {
            upstream.stop();
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "";
        }
    }

    /**
     * camel-main post-processes a configuration class it instantiates twice, which would run every
     * {@code @BindToRegistry} method twice: two Vert.x instances, two config watchers, two route
     * reloaders racing on each edit. The route reloader (on, as by default) logs once per instance.
     */
    @Test
    void the_jar_makes_each_bean_once() {
        String started = read(log);
        assertEquals(1, started.split("Live route reloading enabled", -1).length - 1, started);
    }

    /**
     * The launcher puts the Netty library that {@code mvn package} unpacked on the library path, so
     * the JVM maps it from {@code target/native} (no copy out of the jar into a temporary file), and
     * the transport is native; Vert.x makes no cache directory either, so a start leaves nothing in the
     * temporary directory. The JVM's meters, bound once the listener is open, follow.
     */
    @Test
    void native_transport_from_target_native_nothing_in_tmp_and_the_jvm_meters_after_the_listener() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("amd64".equals(System.getProperty("os.arch"))
                && Files.isReadable(Path.of("/proc/self/maps")), "the unpacked library is Netty's linux-x86_64 one");
        String maps = Files.readString(Path.of("/proc/" + proxy.pid() + "/maps")); // the launcher execs the JVM
        Path unpacked = Path.of("target/native/META-INF/native/libnetty_transport_native_epoll_x86_64.so")
                .toAbsolutePath().normalize();
        assertTrue(maps.contains(unpacked.toString()), "Netty's library mapped from " + unpacked + ": "
                + maps.lines().filter(l -> l.contains("netty")).toList());
        assertTrue(read(log).contains("Vert.x native transport: true"), read(log));
        try (var left = Files.list(dir.resolve("tmp"))) {
            // neither a copy of Netty's library nor a vertx-cache-<uuid> directory per start
            assertEquals(List.of(), left.map(p -> p.getFileName().toString()).toList(), "the JVM's temporary directory");
        }

        Await.that(10, "jvm_* and process_* meters on /observe/metrics", () -> {
            String metrics = client.send(client.request("/observe/metrics").GET().build()).body();
            return metrics.contains("jvm_memory_used_bytes{") && metrics.contains("jvm_gc_")
                    && metrics.contains("process_uptime_seconds");
        });
    }

    @Test
    void chat_completion_through_the_jar() throws Exception {
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"object\":\"chat.completion\"}")));

        HttpResponse<String> response = client.send(client.request("/v1/chat/completions")
                .header("Authorization", "Bearer " + clientKey).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"messages\":[]}")).build());

        assertEquals(200, response.statusCode());
        assertEquals("{\"object\":\"chat.completion\"}", response.body());
        var seen = upstream.findAll(anyRequestedFor(anyUrl()));
        assertEquals("Bearer " + UPSTREAM_KEY, seen.get(seen.size() - 1).getHeader("Authorization"));
    }

    @Test
    void stream_arrives_incrementally_through_the_jar() throws Exception {
        StringBuilder sse = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            sse.append("data: {\"i\":").append(i).append("}\n\n");
        }
        sse.append("data: [DONE]\n\n");
        upstream.stubFor(post("/v1/responses").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/event-stream").withBody(sse.toString())
                .withChunkedDribbleDelay(9, 1800)));

        long start = System.nanoTime();
        HttpResponse<InputStream> response = client.http().send(client.request("/v1/responses")
                .header("Authorization", "Bearer " + clientKey)
                .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build(), HttpResponse.BodyHandlers.ofInputStream());
        List<Long> arrivals = new ArrayList<>();
        StringBuilder body = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                body.append(line).append('\n');
                if (!line.isEmpty()) {
                    arrivals.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                }
            }
        }
        assertEquals(sse.toString(), body.toString());
        assertTrue(arrivals.get(arrivals.size() - 1) - arrivals.get(0) > 900, "not incremental: " + arrivals);
    }

    @Test
    void each_request_is_an_access_log_line_on_stdout_an_audit_event_and_a_metric() throws Exception {
        upstream.stubFor(post(urlEqualTo("/v1/embeddings")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"object\":\"list\",\"usage\":{\"prompt_tokens\":6,\"total_tokens\":6}}")));
        HttpResponse<String> response = client.send(client.request("/v1/embeddings")
                .header("Authorization", "Bearer " + clientKey).header("x-request-id", "e2e-trace-1")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}")).build());
        assertEquals(200, response.statusCode());

        String line = Await.until(10, () -> "an access-log line: " + read(log), () -> read(log).lines()
                .filter(l -> l.startsWith("{") && l.contains("\"e2e-trace-1\"")).findFirst().orElse(null));
        JsonNode entry = new ObjectMapper().readTree(line);
        assertEquals("e2e", entry.path("key").asText());
        assertEquals("/v1/embeddings", entry.path("endpoint").asText());
        assertEquals(200, entry.path("status").asInt());
        assertEquals(6, entry.path("tokens_in").asInt());

        Await.that(10, "the audit event", () -> read(dir.resolve("audit.jsonl")).contains("\"e2e-trace-1\""));
        String metrics = client.send(client.request("/observe/metrics").GET().build()).body();
        assertTrue(metrics.contains("proxy_requests_total{endpoint=\"/v1/embeddings\",key=\"e2e\",model=\"text-embedding-3-small\",status=\"200\"} 1.0"),
                metrics);
        String everything = read(log) + read(dir.resolve("audit.jsonl")) + metrics;
        assertFalse(everything.contains(UPSTREAM_KEY), "upstream key in the output");
        assertFalse(everything.contains(clientKey), "client key in the output");
    }

    @Test
    void refuses_a_missing_key_and_never_logs_secrets() throws Exception {
        HttpResponse<String> response = client.send(client.request("/v1/models").GET().build());
        assertEquals(401, response.statusCode());
        assertTrue(response.body().contains("\"code\":\"invalid_api_key\""));

        String output = read(log);
        assertTrue(output.contains("Apache Camel"), "no log captured");
        assertFalse(output.contains(UPSTREAM_KEY), "upstream key in the log");
        assertFalse(output.contains(clientKey), "client key in the log");
    }
}
