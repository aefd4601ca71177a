package org.camelopenaiproxy.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A list of IPv4 and IPv6 address blocks in CIDR notation ({@code 10.0.0.0/8}, {@code 2001:db8::/32});
 * a bare address is a block of one ({@code 192.168.1.7}). Used for a key's {@code allowed_ips} and
 * for {@code proxy.trusted-proxies}. An IPv4-mapped IPv6 address ({@code ::ffff:10.1.2.3}, what a
 * dual-stack listener reports for an IPv4 client) is matched as the IPv4 address it carries. Parsing
 * never looks a name up: anything but an address literal is refused.
 */
public final class IpAllowList {

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:][0-9A-Fa-f:.]*");

    /** One block: the network's address bytes (host bits cleared) and the prefix length. */
    public record Cidr(String text, byte[] network, int prefix) {

        public boolean contains(InetAddress address) {
            byte[] a = address.getAddress();
            if (a.length != network.length) {
                return false;
            }
            int whole = prefix / 8;
            for (int i = 0; i < whole; i++) {
                if (a[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefix % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xff << (8 - rest) & 0xff;
            return (a[whole] & mask) == (network[whole] & 0xff);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private final List<Cidr> blocks;

    private IpAllowList(List<Cidr> blocks) {
        this.blocks = List.copyOf(blocks);
    }

    /** Parses every entry; the first that is not an address or a block fails the whole list. */
    public static IpAllowList parse(Collection<String> entries) {
        List<Cidr> blocks = new ArrayList<>();
        for (String entry : entries) {
            blocks.add(cidr(entry));
        }
        return new IpAllowList(blocks);
    }

    /** A comma-separated list (a property's value); blank gives an empty list. */
    public static IpAllowList parse(String commaSeparated) {
        List<String> entries = new ArrayList<>();
        if (commaSeparated != null) {
            for (String part : commaSeparated.split(",")) {
                if (!part.isBlank()) {
                    entries.add(part.trim());
                }
            }
        }
        return parse(entries);
    }

    public boolean isEmpty() {
        return blocks.isEmpty();
    }

    public List<Cidr> blocks() {
        return blocks;
    }

    /** Whether the address lies in one of the blocks ({@code null}: no). */
    public boolean allows(InetAddress address) {
        if (address == null) {
            return false;
        }
        for (Cidr block : blocks) {
            if (block.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the address literal lies in one of the blocks; anything but a literal: no. */
    public boolean allows(String address) {
        return allows(literal(address));
    }

    /** {@code 10.0.0.0/8}, {@code 2001:db8::/32}, or a single address; host bits are cleared. */
    public static Cidr cidr(String entry) {
        String text = entry == null ? "" : entry.trim();
        int slash = text.indexOf('/');
        String host = slash < 0 ? text : text.substring(0, slash);
        InetAddress address = literal(host);
        if (address == null || host.indexOf('%') >= 0) {
            throw new IllegalArgumentException("'" + entry + "' is not an IP address or CIDR block");
        }
        int bits = address.getAddress().length * 8;
        int prefix = bits;
        if (slash >= 0) {
            String length = text.substring(slash + 1).trim();
            if (!length.matches("\\d{1,3}")) {
                throw new IllegalArgumentException("'" + entry + "' has no valid prefix length");
            }
            prefix = Integer.parseInt(length);
            if (address instanceof Inet4Address && host.indexOf(':') >= 0) {
                prefix -= 96; // ::ffff:10.0.0.0/104 is 10.0.0.0/8
            }
            if (prefix < 0 || prefix > bits) {
                throw new IllegalArgumentException("'" + entry + "': prefix length out of range (0-" + bits + ")");
            }
        }
        byte[] network = address.getAddress();
        for (int i = 0; i < network.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            network[i] &= (byte) (0xff << (8 - keep));
        }
        return new Cidr(text, network, prefix);
    }

    /**
     * The address an IP literal stands for ({@code [::1]} and zone ids accepted), or {@code null}
     * when it is anything else. No name is ever resolved.
     */
    public static InetAddress literal(String text) {
        if (text == null) {
            return null;
        }
        String s = text.trim();
        if (s.length() > 2 && s.charAt(0) == '[' && s.charAt(s.length() - 1) == ']') {
            s = s.substring(1, s.length() - 1);
        }
        int zone = s.indexOf('%');
        if (zone >= 0) {
            s = s.substring(0, zone);
        }
        try {
            var v4 = IPV4.matcher(s);
            if (v4.matches()) {
                byte[] bytes = new byte[4];
                for (int i = 0; i < 4; i++) {
                    int octet = Integer.parseInt(v4.group(i + 1));
                    if (octet > 255) {
                        return null;
                    }
                    bytes[i] = (byte) octet;
                }
                return InetAddress.getByAddress(bytes);
            }
            if (s.indexOf(':') >= 0 && IPV6.matcher(s).matches()) {
                return InetAddress.getByName(s); // an IPv6 literal: parsed, never looked up
            }
        } catch (UnknownHostException invalid) {
            return null;
        }
        return null;
    }

    @Override
    public String toString() {
        return blocks.toString();
    }
}
