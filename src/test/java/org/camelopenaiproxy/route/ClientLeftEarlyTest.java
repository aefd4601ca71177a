package org.camelopenaiproxy.route;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.Await;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.ScriptedUpstream;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A client that leaves before the upstream's answer began must not keep its concurrency slot. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.left.url}}",
            TestEnv.UPSTREAM_API_KEY, "proxy.keys.file={{sys:test.left.keys}}", TestEnv.NO_RELOAD, TestEnv.QUICK_STOP})
class ClientLeftEarlyTest {

    static final Path KEYS = TestSetup.named("left").keys("""
            keys:
              - name: one-at-a-time
                key_sha256: {{hash:sk-left-1}}
                limits: { max_concurrent: 1 }
            """).keysFile();
    static final ScriptedUpstream UPSTREAM = ScriptedUpstream.startedAs("test.left.url");


    private final ProxyClient client = new ProxyClient(TestEnv.proxyUrl());

    @AfterAll
    static void stop() throws Exception {
        UPSTREAM.close();
    }

    @Test
    void leaving_before_the_response_head_frees_the_slot() throws Exception {
        CompletableFuture<Void> arrived = new CompletableFuture<>();
        UPSTREAM.script(req -> arrived.complete(null)); // never answers
        CompletableFuture<HttpResponse<String>> first = client.http().sendAsync(client.request("/v1/chat/completions")
                .header("Authorization", "Bearer sk-left-1").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        arrived.get(10, TimeUnit.SECONDS);
        assertEquals(429, send().statusCode(), "the first request does not hold the slot");
        UPSTREAM.script(req -> req.response().putHeader("Content-Type", "application/json").end("{}"));
        first.cancel(true); // the client goes away before any answer
        int status = Await.until(10, "the slot of the client that left released", () -> {
            int s = send().statusCode();
            return s == 429 ? null : s;
        });
        assertEquals(200, status, "the slot of a client that left before the answer was never released");
    }

    private HttpResponse<String> send() throws Exception {
        return client.send(client.request("/v1/chat/completions").header("Authorization", "Bearer sk-left-1")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
    }
}
