package org.camelopenaiproxy.unit;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.camelopenaiproxy.config.IpAllowList;
import org.camelopenaiproxy.pipeline.auth.ClientAddress;
import org.camelopenaiproxy.pipeline.auth.KeyHashes;
import org.camelopenaiproxy.pipeline.auth.KeysFile;
import org.camelopenaiproxy.request.ClientKey;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IpAllowListTest {

    static IpAllowList list(String... entries) {
        return IpAllowList.parse(List.of(entries));
    }

    static InetAddress ip(String literal) {
        InetAddress a = IpAllowList.literal(literal);
        assertTrue(a != null, literal);
        return a;
    }

    @Test
    void ipv4_blocks_match_their_addresses_only() {
        IpAllowList l = list("10.0.0.0/8", "192.168.1.7", "172.16.0.0/12", "100.64.1.128/25");
        assertTrue(l.allows("10.0.0.0"));
        assertTrue(l.allows("10.255.255.255"));
        assertFalse(l.allows("11.0.0.0"));
        assertFalse(l.allows("9.255.255.255"));
        assertTrue(l.allows("192.168.1.7"));
        assertFalse(l.allows("192.168.1.8"));
        assertTrue(l.allows("172.31.255.1"));
        assertFalse(l.allows("172.32.0.1"));
        assertTrue(l.allows("100.64.1.200"));
        assertFalse(l.allows("100.64.1.127"));
    }

    @Test
    void ipv6_blocks_match_and_never_cross_families() {
        IpAllowList l = list("2001:db8::/32", "::1", "fe80::/10");
        assertTrue(l.allows("2001:db8::1"));
        assertTrue(l.allows("2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff"));
        assertFalse(l.allows("2001:db9::1"));
        assertTrue(l.allows("::1"));
        assertTrue(l.allows("[::1]"));
        assertFalse(l.allows("::2"));
        assertTrue(l.allows("febf::1%eth0"));
        assertFalse(l.allows("fec0::1"));
        assertFalse(l.allows("127.0.0.1"), "IPv4 is not in an IPv6 block");
        assertFalse(list("0.0.0.0/0").allows("::1"), "IPv6 is not in an IPv4 block");
        assertTrue(list("::/0").allows("2001:db8::5"));
    }

    @Test
    void ipv4_mapped_addresses_match_as_ipv4() {
        assertTrue(list("10.0.0.0/8").allows("::ffff:10.1.2.3"));
        assertFalse(list("10.0.0.0/8").allows("::ffff:11.1.2.3"));
        assertTrue(list("::ffff:10.0.0.0/104").allows("10.9.9.9"));
        assertFalse(list("::ffff:10.0.0.0/104").allows("11.9.9.9"));
    }

    @Test
    void host_bits_of_a_block_are_ignored_and_zero_prefix_matches_all() {
        assertTrue(list("10.1.2.3/8").allows("10.200.0.1"));
        assertTrue(list("0.0.0.0/0").allows("203.0.113.9"));
        assertFalse(list().allows("127.0.0.1"), "an empty list allows nobody");
    }

    @Test
    void anything_but_an_address_literal_is_refused_without_a_lookup() {
        for (String bad : new String[] {"10.0.0.0/33", "2001:db8::/129", "10.0.0.256", "10.0.0", "localhost",
                "example.com/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "", "::g", "1:2", "fe80::1%eth0/64"}) {
            assertThrows(IllegalArgumentException.class, () -> IpAllowList.cidr(bad), bad);
        }
        assertNull(IpAllowList.literal("localhost"));
        assertNull(IpAllowList.literal("a.b.c.d"));
        assertNull(IpAllowList.literal(".1"));
        assertFalse(list("127.0.0.0/8").allows("localhost"));
        assertFalse(list("127.0.0.0/8").allows((String) null));
    }

    @Test
    void keys_file_reads_allowed_ips_and_refuses_a_bad_block() throws Exception {
        String hash = KeyHashes.sha256Hex("sk-proxy-a");
        ClientKey key = KeysFile.parse(("keys:\n  - name: a\n    key_sha256: " + hash
                + "\n    allowed_ips: [\"10.0.0.0/8\", \"192.168.1.7\", \"2001:db8::/32\"]\n")
                .getBytes(StandardCharsets.UTF_8)).byHash().get(hash);
        assertEquals(3, key.allowedIps().blocks().size());
        assertTrue(key.allowedIps().allows("192.168.1.7"));
        assertNull(KeysFile.parse(("keys:\n  - name: a\n    key_sha256: " + hash + "\n")
                .getBytes(StandardCharsets.UTF_8)).byHash().get(hash).allowedIps(), "absent: any address");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeysFile.parse(
                ("keys:\n  - name: a\n    key_sha256: " + hash + "\n    allowed_ips: [\"10.0.0.0/33\"]\n")
                        .getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("a: allowed_ips"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KeysFile.parse(
                ("keys:\n  - name: a\n    key_sha256: " + hash + "\n    allowed_ips: 10.0.0.0/8\n")
                        .getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void x_forwarded_for_is_walked_from_the_right_past_trusted_proxies_only() {
        ClientAddress behindLb = new ClientAddress(list("10.0.0.0/8"));
        InetAddress lb = ip("10.0.0.2");
        assertEquals(ip("203.0.113.9"), behindLb.forwarded(lb, List.of("203.0.113.9")));
        // the client wrote its own header: the load balancer appended the real address
        assertEquals(ip("198.51.100.7"), behindLb.forwarded(lb, List.of("10.9.9.9, 198.51.100.7")));
        // two trusted hops, over two headers
        assertEquals(ip("198.51.100.7"), behindLb.forwarded(lb, List.of("198.51.100.7, 10.0.0.5", "10.0.0.6")));
        // garbage stops at the last trusted hop
        assertEquals(ip("10.0.0.5"), behindLb.forwarded(lb, List.of("evil, 10.0.0.5")));
        // no header: the peer itself
        assertEquals(lb, behindLb.forwarded(lb, List.of()));
    }
}
