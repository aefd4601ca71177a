package org.camelopenaiproxy.upstream;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.ProxyOptions;

/**
 * The Vert.x clients upstream calls use, and the egress proxy each call goes through.
 * <ul>
 * <li>One {@link HttpClient} and one {@link WebSocketClient} per distinct trust setting: the default
 * (the JVM's trust store) and one per CA bundle ({@code ca_file}) in {@code config/upstreams.yaml},
 * keyed by the bundle's content, made on first use and kept (an edit of the file that brings a new
 * bundle gets new clients; calls in flight on the old ones are left alone). Certificates and host
 * names are always verified.</li>
 * <li>The egress proxy of a deployment ({@link #egress}): its own {@code egress_proxy}, else
 * {@code proxy.egress.url}, else {@code HTTPS_PROXY}/{@code HTTP_PROXY} unless {@code NO_PROXY} (or
 * loopback) exempts the host; set per request ({@link #route}), so connection pools stay per proxy.</li>
 * </ul>
 */
public final class UpstreamClients {

    private final Vertx vertx;
    private final HttpClientOptions httpOptions;
    private final PoolOptions poolOptions;
    private final WebSocketClientOptions webSocketOptions;
    private final EgressProxy defaultEgress;
    private final Map<String, String> environment;
    private final Map<String, HttpClient> httpClients = new ConcurrentHashMap<>();
    private final Map<String, WebSocketClient> webSocketClients = new ConcurrentHashMap<>();
    private final Map<EgressProxy, ProxyOptions> proxyOptions = new ConcurrentHashMap<>();

    /**
     * @param defaultEgress {@code proxy.egress.url} parsed ({@code null}: not set, the environment decides)
     * @param environment   where {@code HTTPS_PROXY} and friends are read ({@link System#getenv()})
     */
    public UpstreamClients(Vertx vertx, HttpClientOptions httpOptions, PoolOptions poolOptions,
            WebSocketClientOptions webSocketOptions, EgressProxy defaultEgress, Map<String, String> environment) {
        this.vertx = vertx;
        this.httpOptions = httpOptions;
        this.poolOptions = poolOptions;
        this.webSocketOptions = webSocketOptions;
        this.defaultEgress = defaultEgress;
        this.environment = environment;
    }

    public HttpClient http(Deployment deployment) {
        String pem = caPem(deployment);
        return httpClients.computeIfAbsent(pem == null ? "" : pem, key -> {
            HttpClientOptions options = new HttpClientOptions(httpOptions);
            if (!key.isEmpty()) {
                options.setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(key)));
            }
            return vertx.httpClientBuilder().with(options).with(poolOptions).build();
        });
    }

    public WebSocketClient webSockets(Deployment deployment) {
        String pem = caPem(deployment);
        return webSocketClients.computeIfAbsent(pem == null ? "" : pem, key -> {
            WebSocketClientOptions options = new WebSocketClientOptions(webSocketOptions);
            if (!key.isEmpty()) {
                options.setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(key)));
            }
            return vertx.createWebSocketClient(options);
        });
    }

    /** The egress proxy calls to {@code deployment} go through, or {@code null} for a direct connection. */
    public EgressProxy egress(Deployment deployment) {
        EgressProxy egress = deployment.network() == null ? null : deployment.network().egress();
        if (egress == null) {
            egress = defaultEgress;
        }
        if (egress == null) {
            egress = EgressProxy.fromEnvironment(environment, deployment.target().ssl(), deployment.target().host());
        }
        return egress == EgressProxy.DIRECT ? null : egress;
    }

    /** Sets the deployment's egress proxy (if any) on a request's or WebSocket's options. */
    public <T extends RequestOptions> T route(T options, Deployment deployment) {
        EgressProxy egress = egress(deployment);
        if (egress != null) {
            options.setProxyOptions(proxyOptions.computeIfAbsent(egress, EgressProxy::toProxyOptions));
        }
        return options;
    }

    /** The default egress proxy as configured, for the startup log (credentials masked). */
    public String describeDefaultEgress() {
        if (defaultEgress != null) {
            return defaultEgress.toString();
        }
        return environment.keySet().stream().anyMatch(k -> k.equalsIgnoreCase("https_proxy") || k.equalsIgnoreCase("http_proxy"))
                ? "from HTTPS_PROXY/HTTP_PROXY (NO_PROXY honoured)" : "none";
    }

    private static String caPem(Deployment deployment) {
        return deployment.network() == null ? null : deployment.network().caPem();
    }
}
