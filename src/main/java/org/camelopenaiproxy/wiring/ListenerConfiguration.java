package org.camelopenaiproxy.wiring;

import io.vertx.core.Vertx;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.PropertyInject;
import org.apache.camel.component.platform.http.main.ManagementHttpServer;
import org.camelopenaiproxy.inbound.ConnectionGuard;
import org.camelopenaiproxy.inbound.CorsPolicy;
import org.camelopenaiproxy.inbound.EdgeGuard;
import org.camelopenaiproxy.inbound.ListenerSettings;
import org.camelopenaiproxy.inbound.ProxyEntry;
import org.camelopenaiproxy.inbound.ProxyServer;
import org.camelopenaiproxy.observe.RequestObserver;
import org.camelopenaiproxy.observe.UpstreamErrorRedactor;
import org.camelopenaiproxy.realtime.RealtimeEntry;
import org.camelopenaiproxy.realtime.WebSocketRelay;
import org.camelopenaiproxy.relay.ErrorRoutes;
import org.camelopenaiproxy.relay.OpenAiErrorResponder;
import org.camelopenaiproxy.relay.ResponseRelay;
import org.camelopenaiproxy.relay.ResponseWriter;
import org.camelopenaiproxy.relay.UnreadBody;
import org.camelopenaiproxy.reload.ReloadGate;
import org.camelopenaiproxy.request.ActiveRelays;
import org.camelopenaiproxy.upstream.DeadLetterQueue;
import org.camelopenaiproxy.upstream.Timeouts;

/**
 * The API listener: the server (host, port, TLS, HTTP/2), the guards at its edge (connections,
 * headers, CORS), the entries into the pipeline and the realtime route, the response writer, and the
 * OpenAI-shaped errors (the {@code error} routes).
 */
public class ListenerConfiguration implements CamelConfiguration {

    @BindToRegistry
    public ConnectionGuard connectionGuard(@BeanInject("vertx") Vertx vertx,
            @PropertyInject("proxy.limits.max-connections") int maxConnections,
            @PropertyInject("proxy.limits.max-connections-per-ip") int maxConnectionsPerIp,
            @PropertyInject("proxy.limits.read-timeout-ms") long readTimeoutMillis) {
        return new ConnectionGuard(vertx, maxConnections, maxConnectionsPerIp, readTimeoutMillis);
    }

    /** The relays streaming an answer now (the drain waits for them). */
    @BindToRegistry
    public ActiveRelays activeRelays() {
        return new ActiveRelays();
    }

    @BindToRegistry
    public OpenAiErrorResponder openAiErrorResponder() {
        return new OpenAiErrorResponder();
    }

    // The beans below use beans of this class, so they are made on first use (the server by the
    // lifecycle's configure()).

    @BindToRegistry(lazy = true)
    public ResponseWriter responseWriter(@BeanInject("vertx") Vertx vertx,
            @BeanInject("upstreamTimeouts") Timeouts timeouts,
            @BeanInject("upstreamErrorRedactor") UpstreamErrorRedactor redactor,
            @BeanInject("deadLetterQueue") DeadLetterQueue deadLetters,
            @BeanInject("activeRelays") ActiveRelays activeRelays,
            @PropertyInject("proxy.request-buffer-bytes") long requestBufferBytes,
            @PropertyInject("proxy.max-request-bytes") long maxRequestBytes,
            @PropertyInject("proxy.limits.read-timeout-ms") long readTimeoutMillis) {
        return new ResponseWriter(new ResponseRelay(vertx, timeouts, redactor, deadLetters, activeRelays),
                new UnreadBody(vertx, Math.min(requestBufferBytes, maxRequestBytes), readTimeoutMillis));
    }

    @BindToRegistry(lazy = true)
    public ProxyEntry proxyEntry(CamelContext context, @BeanInject("reloadGate") ReloadGate gate,
            @BeanInject("responseWriter") ResponseWriter writer,
            @BeanInject("requestObserver") RequestObserver observer,
            @PropertyInject("proxy.pipeline.uri") String pipelineUri) {
        return new ProxyEntry(context, pipelineUri, gate, writer, observer);
    }

    @BindToRegistry(lazy = true)
    public RealtimeEntry realtimeEntry(CamelContext context, @BeanInject("vertx") Vertx vertx,
            @BeanInject("reloadGate") ReloadGate gate,
            @BeanInject("responseWriter") ResponseWriter writer,
            @BeanInject("requestObserver") RequestObserver observer,
            @PropertyInject("proxy.realtime.uri") String realtimeUri,
            @PropertyInject("proxy.websocket.idle-ms") long idleMillis,
            @PropertyInject("proxy.websocket.max-session-ms") long maxSessionMillis) {
        return new RealtimeEntry(context, realtimeUri, gate, writer, new WebSocketRelay(vertx, idleMillis, maxSessionMillis),
                observer);
    }

    @BindToRegistry(lazy = true)
    public EdgeGuard edgeGuard(@BeanInject("connectionGuard") ConnectionGuard connections,
            @BeanInject("responseWriter") ResponseWriter writer,
            @PropertyInject("proxy.cors.allowed-origins") String origins,
            @PropertyInject("proxy.cors.allowed-methods") String methods,
            @PropertyInject("proxy.cors.allowed-headers") String headers,
            @PropertyInject("proxy.cors.max-age-seconds") long maxAge,
            @PropertyInject("proxy.cors.allow-credentials") boolean credentials,
            @PropertyInject("proxy.limits.max-headers") int maxHeaders) {
        return new EdgeGuard(connections, new CorsPolicy(origins, methods, headers, maxAge, credentials), maxHeaders,
                writer);
    }

    @BindToRegistry(lazy = true)
    public ListenerSettings listenerSettings(@PropertyInject("proxy.host") String host,
            @PropertyInject("proxy.port") int port,
            @PropertyInject("proxy.server.instances") int instances,
            @PropertyInject("proxy.tls.keystore") String keystore,
            @PropertyInject("proxy.tls.keystore-password") String keystorePassword,
            @PropertyInject("proxy.tls.cert-file") String certFile,
            @PropertyInject("proxy.tls.key-file") String keyFile,
            @PropertyInject("proxy.tls.client-auth") String clientAuth,
            @PropertyInject("proxy.tls.trust-file") String trustFile,
            @PropertyInject("proxy.tls.trust-password") String trustPassword,
            @PropertyInject("proxy.tls.http2") boolean tlsHttp2,
            @PropertyInject("proxy.http2.cleartext") boolean h2c,
            @PropertyInject("proxy.limits.max-header-bytes") int maxHeaderBytes,
            @PropertyInject("proxy.limits.max-request-line-bytes") int maxInitialLineBytes,
            @PropertyInject("proxy.websocket.max-frame-bytes") int maxFrameBytes) {
        ListenerSettings listener = new ListenerSettings(host, port, instances,
                new ListenerSettings.Tls(keystore, keystorePassword, certFile, keyFile, clientAuth, trustFile,
                        trustPassword, tlsHttp2), h2c, maxHeaderBytes, maxInitialLineBytes, maxFrameBytes);
        listener.toServerOptions(); // a TLS setting that cannot work fails the start here, with its property name
        return listener;
    }

    /** Opened when the routes are up, closed on stop: see {@link LifecycleConfiguration}. */
    @BindToRegistry(lazy = true)
    public ProxyServer proxyServer(CamelContext context, @BeanInject("vertx") Vertx vertx,
            @BeanInject("listenerSettings") ListenerSettings listener,
            @BeanInject("connectionGuard") ConnectionGuard connections,
            @BeanInject("edgeGuard") EdgeGuard guard,
            @BeanInject("realtimeEntry") RealtimeEntry realtimeEntry,
            @BeanInject("proxyEntry") ProxyEntry entry,
            @PropertyInject("proxy.management.port") int managementPort) {
        return new ProxyServer(vertx, listener, connections, guard, realtimeEntry, entry,
                managementPort == 0 ? () -> {
                    ManagementHttpServer management = context.hasService(ManagementHttpServer.class);
                    return management == null ? null : management.getRouter();
                } : null);
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        context.addRoutes(new ErrorRoutes());
    }
}
