package org.camelopenaiproxy.unit;

import java.util.List;
import java.util.Map;

import io.vertx.core.net.ProxyOptions;
import io.vertx.core.net.ProxyType;
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.EgressProxy;
import org.camelopenaiproxy.upstream.UpstreamNetwork;
import org.camelopenaiproxy.upstream.UpstreamTarget;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EgressProxyTest {

    @Test
    void parses_http_proxies_with_basic_credentials() {
        EgressProxy p = EgressProxy.parse("http://corp%5Cuser:p%40ss:w0rd@proxy.corp:3128");
        ProxyOptions o = p.toProxyOptions();
        assertEquals(ProxyType.HTTP, o.getType());
        assertEquals("proxy.corp", o.getHost());
        assertEquals(3128, o.getPort());
        assertEquals("corp\\user", o.getUsername());
        assertEquals("p@ss:w0rd", o.getPassword());
    }

    @Test
    void parses_socks5_bare_host_port_and_none() {
        EgressProxy socks = EgressProxy.parse("socks5://10.1.2.3");
        assertEquals(ProxyType.SOCKS5, socks.toProxyOptions().getType());
        assertEquals(1080, socks.port());
        assertNull(socks.toProxyOptions().getUsername());
        EgressProxy bare = EgressProxy.parse("proxy.corp:8080");
        assertEquals(EgressProxy.Type.HTTP, bare.type());
        assertEquals(8080, bare.port());
        assertEquals(80, EgressProxy.parse("http://proxy.corp").port());
        assertSame(EgressProxy.DIRECT, EgressProxy.parse("none"));
        assertNull(EgressProxy.DIRECT.toProxyOptions());
        assertNull(EgressProxy.parse(""));
        assertNull(EgressProxy.parse(null));
    }

    @Test
    void refuses_what_it_cannot_do_without_echoing_the_url() {
        IllegalArgumentException https = assertThrows(IllegalArgumentException.class,
                () -> EgressProxy.parse("https://user:topsecret@proxy.corp:443"));
        assertFalse(https.getMessage().contains("topsecret"));
        IllegalArgumentException broken = assertThrows(IllegalArgumentException.class,
                () -> EgressProxy.parse("http://user:topsecret@:3128"));
        assertFalse(broken.getMessage().contains("topsecret"));
    }

    @Test
    void credentials_never_show_in_to_string() {
        EgressProxy p = EgressProxy.parse("http://alice:topsecret@proxy.corp:3128");
        assertEquals("http://****@proxy.corp:3128", p.toString());
        assertFalse(p.toString().contains("alice"));
        Deployment d = new Deployment("d", Deployment.Type.OPENAI,
                UpstreamTarget.fromBaseUrl("d", "https://api.openai.com/v1", "sk-upstream"), 1, 0,
                List.of(Glob.of("*")), null, Map.of(), new UpstreamNetwork(p, null, null, null));
        assertTrue(d.toString().contains("egress http://****@proxy.corp:3128"), d.toString());
        assertFalse(d.toString().contains("topsecret"));
        assertFalse(d.toString().contains("sk-upstream"));
        assertEquals("socks5://gw:1080", EgressProxy.parse("socks5://gw:1080").toString());
    }

    @Test
    void the_environment_is_read_by_upstream_scheme_and_no_proxy_is_honoured() {
        Map<String, String> env = Map.of("HTTPS_PROXY", "http://secure-proxy:3128", "http_proxy", "http://plain-proxy:3128",
                "NO_PROXY", "internal.corp, .svc.local,10.0.0.7,*.example.org,gw:8443");
        assertEquals("secure-proxy", EgressProxy.fromEnvironment(env, true, "api.openai.com").host());
        assertEquals("plain-proxy", EgressProxy.fromEnvironment(env, false, "vllm.lan").host());
        assertNull(EgressProxy.fromEnvironment(env, true, "internal.corp"));
        assertNull(EgressProxy.fromEnvironment(env, true, "llm.internal.corp"));
        assertNull(EgressProxy.fromEnvironment(env, true, "vllm.svc.local"));
        assertNull(EgressProxy.fromEnvironment(env, true, "svc.local"));
        assertNull(EgressProxy.fromEnvironment(env, true, "10.0.0.7"));
        assertNull(EgressProxy.fromEnvironment(env, true, "a.example.org"));
        assertNull(EgressProxy.fromEnvironment(env, true, "gw"));
        assertEquals("secure-proxy", EgressProxy.fromEnvironment(env, true, "notinternal.corp").host());
        assertEquals("secure-proxy", EgressProxy.fromEnvironment(env, true, "10.0.0.70").host());
    }

    @Test
    void loopback_never_uses_an_environment_proxy_and_star_bypasses_all() {
        Map<String, String> env = Map.of("https_proxy", "http://p:1", "http_proxy", "http://p:1");
        assertNull(EgressProxy.fromEnvironment(env, false, "127.0.0.1"));
        assertNull(EgressProxy.fromEnvironment(env, false, "localhost"));
        assertNull(EgressProxy.fromEnvironment(env, true, "::1"));
        assertNull(EgressProxy.fromEnvironment(Map.of("https_proxy", "http://p:1", "no_proxy", "*"), true, "api.openai.com"));
        assertNull(EgressProxy.fromEnvironment(Map.of(), true, "api.openai.com"));
        assertNull(EgressProxy.fromEnvironment(Map.of("https_proxy", "ftp://p:1"), true, "api.openai.com"),
                "an unusable value must not break every call");
    }
}
