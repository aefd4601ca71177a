package org.camelopenaiproxy.route;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An upstream whose accept queue is full (on 127.0.0.1: a listening socket that never accepts, its
 * backlog filled) leaves connection attempts hanging: the connect timeout answers 504.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.stuck.url}}",
            TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP,
            "proxy.timeout.connect-ms=500"})
class ConnectTimeoutTest {

    static final ServerSocket STUCK;
    static final List<Socket> FILLERS = new ArrayList<>();

    static {
        try {
            STUCK = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            for (int i = 0; i < 3; i++) {
                Socket s = new Socket();
                try {
                    s.connect(STUCK.getLocalSocketAddress(), 200);
                } catch (IOException ignored) {
                    // the accept queue is full: exactly the state wanted
                }
                FILLERS.add(s);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final TestSetup SETUP = TestSetup.named("stuck").value("url",
            "http://127.0.0.1:" + STUCK.getLocalPort() + "/v1");

    @AfterAll
    static void release() throws IOException {
        for (Socket s : FILLERS) {
            s.close();
        }
        STUCK.close();
    }

    @Test
    void connection_never_accepted_gives_504_after_the_connect_timeout() throws Exception {
        ProxyClient client = new ProxyClient(TestEnv.proxyUrl());
        long start = System.nanoTime();
        assertOpenAiError(client.postJson("/v1/chat/completions", "{}"), 504, "upstream_timeout");
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs < 3000, "504 came after " + tookMs + " ms");
    }
}
