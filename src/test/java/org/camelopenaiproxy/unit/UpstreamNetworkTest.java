package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.EgressProxy;
import org.camelopenaiproxy.upstream.HostOverrides;
import org.camelopenaiproxy.upstream.UpstreamNetwork;
import org.camelopenaiproxy.upstream.UpstreamsFile;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** egress_proxy, ca_file and address in upstreams.yaml. */
class UpstreamNetworkTest {

    static List<Deployment> parse(String yaml) throws Exception {
        return UpstreamsFile.parse(yaml.getBytes(StandardCharsets.UTF_8), null, name -> "");
    }

    @Test
    void reads_egress_proxy_address_and_defaults() throws Exception {
        List<Deployment> pool = parse("""
                upstreams:
                  - name: a
                    base_url: https://api.openai.com/v1
                    egress_proxy: http://u:p@proxy.corp:3128
                  - name: b
                    base_url: http://vllm.lan:8000/v1
                    egress_proxy: none
                    address: 10.0.0.5
                  - name: c
                    base_url: https://api.openai.com/v1
                """);
        assertEquals(EgressProxy.parse("http://u:p@proxy.corp:3128"), pool.get(0).network().egress());
        assertSame(EgressProxy.DIRECT, pool.get(1).network().egress());
        assertEquals("10.0.0.5", pool.get(1).network().address());
        assertSame(UpstreamNetwork.DEFAULT, pool.get(2).network());
        assertEquals(Map.of("vllm.lan", "10.0.0.5"), HostOverrides.of(pool));
    }

    @Test
    void refuses_bad_network_settings_by_name() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("""
                upstreams:
                  - name: a
                    base_url: https://api.openai.com/v1
                    egress_proxy: https://u:hunter2@proxy.corp
                """));
        assertTrue(e.getMessage().startsWith("a: "), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"));
        assertThrows(IllegalArgumentException.class, () -> parse("""
                upstreams:
                  - name: a
                    base_url: https://api.openai.com/v1
                    address: not-an-ip
                """));
        assertThrows(IllegalArgumentException.class, () -> parse("""
                upstreams:
                  - name: a
                    base_url: https://10.0.0.1/v1
                    address: 10.0.0.5
                """));
        IllegalArgumentException conflict = assertThrows(IllegalArgumentException.class, () -> parse("""
                upstreams:
                  - name: a
                    base_url: https://api.openai.com/v1
                    address: 10.0.0.5
                  - name: b
                    base_url: https://api.openai.com/v1
                    address: 10.0.0.6
                """));
        assertTrue(conflict.getMessage().contains("api.openai.com"));
    }

    @Test
    void a_ca_file_must_hold_a_certificate_and_needs_https() throws Exception {
        Path notPem = Files.createTempFile("ca", ".pem");
        Files.writeString(notPem, "hello");
        assertThrows(IllegalArgumentException.class, () -> parse("""
                upstreams:
                  - name: a
                    base_url: https://api.openai.com/v1
                    ca_file: %s
                """.formatted(notPem)));
        assertThrows(IllegalArgumentException.class, () -> parse("""
                upstreams:
                  - name: a
                    base_url: https://api.openai.com/v1
                    ca_file: /does/not/exist.pem
                """));
        IllegalArgumentException plain = assertThrows(IllegalArgumentException.class, () -> parse("""
                upstreams:
                  - name: a
                    base_url: http://vllm.lan/v1
                    ca_file: %s
                """.formatted(notPem)));
        assertTrue(plain.getMessage().contains("https"));
    }

    @Test
    void the_resolver_gets_the_overrides_ahead_of_the_system_hosts() {
        assertNull(HostOverrides.resolverOptions(Map.of()));
        String hosts = HostOverrides.resolverOptions(Map.of("api.openai.com", "10.0.0.5")).getHostsValue().toString();
        assertTrue(hosts.startsWith("10.0.0.5 api.openai.com\n"), hosts);
        assertTrue(hosts.contains("localhost"), "localhost must keep resolving");
    }
}
