package org.camelopenaiproxy.route;

import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.ProxyClient;
import org.camelopenaiproxy.support.TestEnv;
import org.camelopenaiproxy.support.TestSetup;
import org.junit.jupiter.api.Test;

import static org.camelopenaiproxy.support.OpenAiErrorAssert.assertOpenAiError;

/** An upstream nobody listens on (127.0.0.1, a closed port) gives a prompt 502. */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, "proxy.upstream.base-url={{sys:test.closed.url}}",
            TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS, TestEnv.NO_RELOAD, TestEnv.QUICK_STOP})
class UnreachableUpstreamTest {

    static final TestSetup SETUP = TestSetup.named("closed").value("url",
            "http://127.0.0.1:" + TestEnv.freePort() + "/v1");

    @Test
    void nobody_listening_gives_502() throws Exception {
        ProxyClient client = new ProxyClient(TestEnv.proxyUrl());
        assertOpenAiError(client.postJson("/v1/chat/completions", "{}"), 502, "upstream_unreachable");
    }
}
