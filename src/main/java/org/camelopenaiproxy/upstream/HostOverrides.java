package org.camelopenaiproxy.upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.dns.AddressResolverOptions;

/**
 * DNS overrides: the {@code address} of deployments in {@code config/upstreams.yaml}, as host name
 * to IP address. They are given to the Vert.x resolver as hosts-file entries (ahead of the system's
 * hosts file), so every way of reaching the upstream (HTTP, streams, WebSockets, TLS with SNI and
 * certificate checks against the host name) uses them alike. The resolver is set up when the proxy
 * starts: a changed {@code address} takes effect at the next start (a warning says so). Through an
 * egress proxy, the proxy resolves the name itself.
 */
public final class HostOverrides {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HostOverrides.class);
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Path SYSTEM_HOSTS = Path.of("/etc/hosts");

    private HostOverrides() {
    }

    /** Host name (lower case) to address; fails when two deployments give one host different addresses. */
    public static Map<String, String> of(List<Deployment> deployments) {
        Map<String, String> out = new TreeMap<>();
        for (Deployment d : deployments) {
            String address = d.network() == null ? null : d.network().address();
            if (address == null) {
                continue;
            }
            String host = d.target().host().toLowerCase(Locale.ROOT);
            String before = out.put(host, address);
            if (before != null && !before.equals(address)) {
                throw new IllegalArgumentException(d.name() + ": another deployment gives " + host
                        + " the address " + before);
            }
        }
        return out;
    }

    /** The overrides of an upstreams file, or none when it is absent or does not parse (its watcher reports that). */
    public static Map<String, String> read(Path upstreamsFile) {
        try {
            if (!Files.exists(upstreamsFile)) {
                return Map.of();
            }
            return of(UpstreamsFile.parse(Files.readAllBytes(upstreamsFile), null, name -> ""));
        } catch (Exception unusable) {
            return Map.of();
        }
    }

    /** Passes {@code deployments} through, warning when their addresses differ from those the resolver started with. */
    public static List<Deployment> warnIfChanged(List<Deployment> deployments, Map<String, String> atStart) {
        if (!of(deployments).equals(atStart)) {
            LOG.warn("The address overrides in the upstreams file changed: they take effect at the next start");
        }
        return deployments;
    }

    /** Resolver options with the overrides ahead of the system hosts file; {@code null} when there are none. */
    public static AddressResolverOptions resolverOptions(Map<String, String> overrides) {
        if (overrides.isEmpty()) {
            return null;
        }
        StringBuilder hosts = new StringBuilder();
        overrides.forEach((host, address) -> hosts.append(address).append(' ').append(host).append('\n'));
        try {
            if (Files.isReadable(SYSTEM_HOSTS)) {
                hosts.append(Files.readString(SYSTEM_HOSTS, StandardCharsets.UTF_8)).append('\n');
            }
        } catch (IOException unreadable) {
            // only the overrides, then DNS
        }
        if (!hosts.toString().matches("(?s).*\\blocalhost\\b.*")) {
            hosts.append("127.0.0.1 localhost\n::1 localhost\n");
        }
        return new AddressResolverOptions().setHostsValue(Buffer.buffer(hosts.toString()));
    }

    public static boolean isIpAddress(String s) {
        return s != null && (IPV4.matcher(s).matches() || s.indexOf(':') >= 0);
    }
}
