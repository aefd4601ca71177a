package org.camelopenaiproxy.inbound;

import java.util.List;

import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.PfxOptions;

/**
 * The API listener's settings ({@code proxy.port}, {@code proxy.host}, {@code proxy.tls.*},
 * {@code proxy.limits.max-header-bytes} ...) as Vert.x server options. TLS comes from a PKCS#12
 * key store or a PEM certificate and key; a client certificate can be required (mTLS) against a
 * PEM or PKCS#12 trust store; HTTP/2 is offered over TLS (ALPN). Cleartext HTTP/2 (h2c) is off
 * unless asked for.
 */
public record ListenerSettings(String host, int port, int instances, Tls tls, boolean h2c, int maxHeaderBytes,
        int maxInitialLineBytes, int maxWebSocketFrameBytes) {

    /** TLS of the listener; {@link #enabled()} when a key store or a PEM pair is configured. */
    public record Tls(String keystore, String keystorePassword, String certFile, String keyFile, String clientAuth,
            String trustFile, String trustPassword, boolean http2) {

        public boolean enabled() {
            return !blank(keystore) || !blank(certFile);
        }
    }

    public HttpServerOptions toServerOptions() {
        HttpServerOptions options = new HttpServerOptions()
                .setHost(host)
                .setPort(port)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxInitialLineLength(maxInitialLineBytes)
                .setHttp2ClearTextEnabled(h2c)
                .setMaxWebSocketFrameSize(maxWebSocketFrameBytes)
                .setMaxWebSocketMessageSize(Math.max(maxWebSocketFrameBytes, maxWebSocketFrameBytes * 4))
                .setCompressionSupported(false)
                .setDecompressionSupported(false)
                .setTcpNoDelay(true)
                .setReuseAddress(true);
        // HTTP/2's header limit is its own setting (Vert.x: 8,192 bytes), advertised to the client,
        // which then refuses to send a larger head: without this, a head of 8-16 KiB that HTTP/1
        // takes could not be sent over HTTP/2 at all
        options.getInitialSettings().setMaxHeaderListSize(maxHeaderBytes);
        options.setHttp2ConnectionWindowSize(http2ConnectionWindow(options.getInitialSettings()));
        if (tls.enabled()) {
            options.setSsl(true);
            if (!blank(tls.keystore())) {
                options.setKeyCertOptions(new PfxOptions().setPath(tls.keystore()).setPassword(tls.keystorePassword()));
            } else {
                if (blank(tls.keyFile())) {
                    throw new IllegalArgumentException("proxy.tls.cert-file needs proxy.tls.key-file");
                }
                options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile()).setKeyPath(tls.keyFile()));
            }
            ClientAuth auth = switch (tls.clientAuth() == null ? "none" : tls.clientAuth().trim().toLowerCase()) {
                case "", "none" -> ClientAuth.NONE;
                case "request", "optional" -> ClientAuth.REQUEST;
                case "required", "require" -> ClientAuth.REQUIRED;
                default -> throw new IllegalArgumentException("proxy.tls.client-auth must be none, request or required");
            };
            options.setClientAuth(auth);
            if (auth != ClientAuth.NONE) {
                if (blank(tls.trustFile())) {
                    throw new IllegalArgumentException("proxy.tls.client-auth needs proxy.tls.trust-file (the CAs of client certificates)");
                }
                if (tls.trustFile().endsWith(".p12") || tls.trustFile().endsWith(".pfx")) {
                    options.setTrustOptions(new PfxOptions().setPath(tls.trustFile()).setPassword(tls.trustPassword()));
                } else {
                    options.setTrustOptions(new PemTrustOptions().addCertPath(tls.trustFile()));
                }
            }
            if (tls.http2()) {
                options.setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
            }
        } else if (!blank(tls.clientAuth()) && !"none".equalsIgnoreCase(tls.clientAuth().trim())) {
            throw new IllegalArgumentException("proxy.tls.client-auth needs TLS (proxy.tls.keystore or proxy.tls.cert-file)");
        }
        return options;
    }

    /**
     * The HTTP/2 connection's receive window: room for every stream's own window at once. A
     * stream's DATA counts against its window and the connection's until the proxy reads it, and
     * the proxy leaves a body unread while it waits: a streamed upload behind a slow upstream, any
     * body until the key is checked. With Vert.x's default (65,535 bytes, one stream's window), one
     * such stream used up the whole connection window and every other stream of the connection
     * (a chat request behind an upload) stalled until it moved. The cost is memory: a stream still
     * holds at most its own window of unread bytes, but a connection can now hold one window per
     * open stream (100 x 64 KiB by default, in Vert.x's queues, outside {@code max-buffered-bytes})
     * where it held one in all; nginx's bound is of the same order (128 streams x 64 KiB preread).
     */
    static int http2ConnectionWindow(Http2Settings settings) {
        long window = Math.min(settings.getMaxConcurrentStreams(), 1000) * (long) settings.getInitialWindowSize();
        return (int) Math.min(window, Integer.MAX_VALUE); // HTTP/2's largest window: 2^31 - 1
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
