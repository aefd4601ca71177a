package org.camelopenaiproxy.upstream;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import io.vertx.core.net.ProxyOptions;
import io.vertx.core.net.ProxyType;

/**
 * An egress proxy the upstream calls go through: an HTTP proxy ({@code http://[user:pass@]host:port};
 * TLS upstreams and WebSockets are tunnelled with {@code CONNECT}, plain-HTTP upstreams are sent to it
 * in absolute form, as every HTTP client does), or SOCKS5 ({@code socks5://[user:pass@]host:port}).
 * {@link #DIRECT} ({@code none}) means "no proxy". Credentials are kept for the proxy handshake
 * only: {@link #toString()} shows {@code ****} in their place, and parse errors never echo the URL.
 */
public final class EgressProxy {

    public enum Type { HTTP, SOCKS5, DIRECT }

    /** No proxy: written {@code none} (or {@code direct}) in the configuration. */
    public static final EgressProxy DIRECT = new EgressProxy(Type.DIRECT, null, 0, null, null);

    private final Type type;
    private final String host;
    private final int port;
    private final String username;
    private final String password;

    private EgressProxy(Type type, String host, int port, String username, String password) {
        this.type = type;
        this.host = host;
        this.port = port;
        this.username = username;
        this.password = password;
    }

    /**
     * Parses a proxy URL; {@code null} or blank gives {@code null} (not configured), {@code none} or
     * {@code direct} gives {@link #DIRECT}. A URL without scheme is an HTTP proxy.
     */
    public static EgressProxy parse(String url) {
        if (url == null || url.isBlank()) {
            return null;
        }
        String value = url.trim();
        if (value.equalsIgnoreCase("none") || value.equalsIgnoreCase("direct")) {
            return DIRECT;
        }
        if (!value.contains("://")) {
            value = "http://" + value;
        }
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw invalid();
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        Type type = switch (scheme) {
            case "http" -> Type.HTTP;
            case "socks5", "socks5h", "socks" -> Type.SOCKS5;
            default -> throw new IllegalArgumentException("egress proxy scheme must be http or socks5, not '" + scheme + "'");
        };
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw invalid();
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort() > 0 ? uri.getPort() : type == Type.HTTP ? 80 : 1080;
        String username = null;
        String password = null;
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null && !userInfo.isEmpty()) {
            int colon = userInfo.indexOf(':');
            username = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
            password = colon < 0 ? "" : decode(userInfo.substring(colon + 1));
        }
        return new EgressProxy(type, host, port, username, password);
    }

    private static IllegalArgumentException invalid() {
        return new IllegalArgumentException(
                "egress proxy URL is not valid (expected http://[user:password@]host:port or socks5://host:port)");
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /**
     * The proxy the conventional environment variables name for an upstream, or {@code null}:
     * {@code https_proxy}/{@code HTTPS_PROXY} for TLS upstreams, {@code http_proxy}/{@code HTTP_PROXY}
     * for plain ones, unless {@code no_proxy}/{@code NO_PROXY} lists the host (comma-separated names,
     * domain suffixes such as {@code .corp.example} or {@code corp.example}, or {@code *}). Loopback
     * hosts never use an environment proxy. A value that does not parse is ignored (returns null).
     */
    public static EgressProxy fromEnvironment(Map<String, String> env, boolean ssl, String host) {
        String url = ssl ? first(env, "https_proxy", "HTTPS_PROXY") : first(env, "http_proxy", "HTTP_PROXY");
        if (url == null || url.isBlank() || isLoopback(host) || bypassed(first(env, "no_proxy", "NO_PROXY"), host)) {
            return null;
        }
        try {
            EgressProxy proxy = parse(url);
            return proxy == DIRECT ? null : proxy;
        } catch (IllegalArgumentException unusable) {
            return null;
        }
    }

    /** True when a {@code NO_PROXY} list covers {@code host}. */
    public static boolean bypassed(String noProxy, String host) {
        if (noProxy == null || noProxy.isBlank() || host == null) {
            return false;
        }
        String h = stripBrackets(host.toLowerCase(Locale.ROOT));
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        for (String raw : noProxy.split(",")) {
            String entry = raw.trim().toLowerCase(Locale.ROOT);
            if (entry.isEmpty()) {
                continue;
            }
            if (entry.equals("*")) {
                return true;
            }
            if (!entry.startsWith("[") && entry.indexOf(':') == entry.lastIndexOf(':') && entry.indexOf(':') > 0) {
                entry = entry.substring(0, entry.indexOf(':')); // host:port -> host
            }
            entry = stripBrackets(entry);
            if (entry.startsWith("*.")) {
                entry = entry.substring(1);
            }
            if (entry.startsWith(".")) {
                if (h.endsWith(entry) || h.equals(entry.substring(1))) {
                    return true;
                }
            } else if (h.equals(entry) || h.endsWith("." + entry)) {
                return true;
            }
        }
        return false;
    }

    static boolean isLoopback(String host) {
        if (host == null) {
            return false;
        }
        String h = stripBrackets(host.toLowerCase(Locale.ROOT));
        return h.equals("localhost") || h.endsWith(".localhost") || h.startsWith("127.") || h.equals("::1")
               || h.equals("0:0:0:0:0:0:0:1");
    }

    private static String stripBrackets(String h) {
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    private static String first(Map<String, String> env, String a, String b) {
        String value = env.get(a);
        return value != null && !value.isBlank() ? value : env.get(b);
    }

    public Type type() {
        return type;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public boolean hasCredentials() {
        return username != null;
    }

    /** Vert.x's options for this proxy; {@code null} for {@link #DIRECT}. */
    public ProxyOptions toProxyOptions() {
        if (type == Type.DIRECT) {
            return null;
        }
        ProxyOptions options = new ProxyOptions()
                .setType(type == Type.HTTP ? ProxyType.HTTP : ProxyType.SOCKS5)
                .setHost(host)
                .setPort(port);
        if (username != null) {
            options.setUsername(username).setPassword(password);
        }
        return options;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EgressProxy p && type == p.type && port == p.port && Objects.equals(host, p.host)
               && Objects.equals(username, p.username) && Objects.equals(password, p.password);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, host, port, username);
    }

    /** The proxy's URL with the credentials masked: {@code http://****@proxy.corp:3128}. */
    @Override
    public String toString() {
        if (type == Type.DIRECT) {
            return "none";
        }
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return (type == Type.HTTP ? "http" : "socks5") + "://" + (username != null ? "****@" : "") + h + ":" + port;
    }
}
