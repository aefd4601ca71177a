package org.camelopenaiproxy.route;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Management moved to its own port: /observe/** is served there and not on the API port, and the
 * API is not served on the management port. Also the proxy-wide connection cap.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP, "proxy.management.port={{sys:test.management.port}}",
            "proxy.limits.max-connections=6"})
class ManagementPortTest {

    static final int MANAGEMENT_PORT = TestEnv.freePort();

    static final TestSetup SETUP = TestSetup.named("management").value("port", Integer.toString(MANAGEMENT_PORT));

    private final WireMockServer upstream = TestEnv.upstream();
    private final ProxyClient api = new ProxyClient(TestEnv.proxyUrl());
    private final ProxyClient management = new ProxyClient("http://127.0.0.1:" + MANAGEMENT_PORT);

    @Test
    void observe_is_served_on_the_management_port_only() throws Exception {
        upstream.resetAll();
        upstream.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("{}")));
        assertEquals(200, api.postJson("/v1/chat/completions", "{}").statusCode());

        assertOpenAiError(api.send(api.request("/observe/health").GET().build()), 404, "unknown_url");
        assertOpenAiError(api.send(api.request("/observe/metrics").GET().build()), 404, "unknown_url");
        HttpResponse<String> health = management.send(management.request("/observe/health").GET().build());
        assertEquals(200, health.statusCode(), health.body());
        HttpResponse<String> metrics = management.send(management.request("/observe/metrics").GET().build());
        assertTrue(metrics.body().contains("proxy_requests_total{"), metrics.body());
        assertTrue(management.send(management.request("/v1/models").GET().build()).statusCode() >= 400,
                "the API is not served on the management port");
    }

    @Test
    void connections_over_the_proxy_wide_cap_are_closed_at_once() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                held.add(new Socket("127.0.0.1", TestEnv.proxyPort()));
            }
            try (Socket extra = new Socket("127.0.0.1", TestEnv.proxyPort())) {
                extra.setSoTimeout(5000);
                assertEquals(-1, extra.getInputStream().read(), "the 7th connection is closed");
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }
}
