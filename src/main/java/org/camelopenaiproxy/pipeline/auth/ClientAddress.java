package org.camelopenaiproxy.pipeline.auth;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import org.camelopenaiproxy.config.IpAllowList;

/**
 * Who is calling, by address: the connection's peer, or, when that peer is one of
 * {@code proxy.trusted-proxies} (a load balancer in front of the proxy), the address it reports in
 * {@code X-Forwarded-For}. That header is read from the right: each hop a trusted proxy added is
 * believed, and the first address that is not a trusted proxy is the client (so a client cannot
 * choose its address by sending the header itself). An entry that is not an address stops the walk
 * at the last trusted hop, which then counts as the client (fails closed).
 */
public final class ClientAddress {

    public static final String X_FORWARDED_FOR = "X-Forwarded-For";

    private final IpAllowList trustedProxies;

    public ClientAddress(IpAllowList trustedProxies) {
        this.trustedProxies = trustedProxies;
    }

    /** The client's address, or {@code null} when the connection has none (say, a Unix socket). */
    public InetAddress of(HttpServerRequest request) {
        SocketAddress remote = request.remoteAddress();
        if (remote == null) {
            return null;
        }
        String host = remote.hostAddress() != null ? remote.hostAddress() : remote.host();
        InetAddress peer = IpAllowList.literal(host);
        if (peer == null || trustedProxies.isEmpty() || !trustedProxies.allows(peer)) {
            return peer;
        }
        return forwarded(peer, request.headers().getAll(X_FORWARDED_FOR));
    }

    /** Walks {@code X-Forwarded-For} (all its headers, in order) from the right, past trusted proxies. */
    public InetAddress forwarded(InetAddress peer, List<String> headers) {
        List<String> hops = new ArrayList<>();
        for (String header : headers) {
            for (String hop : header.split(",")) {
                if (!hop.isBlank()) {
                    hops.add(hop.trim());
                }
            }
        }
        InetAddress current = peer;
        for (int i = hops.size() - 1; i >= 0; i--) {
            InetAddress hop = IpAllowList.literal(hops.get(i));
            if (hop == null) {
                return current;
            }
            current = hop;
            if (!trustedProxies.allows(hop)) {
                return hop;
            }
        }
        return current;
    }
}
