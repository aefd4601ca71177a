package org.camelopenaiproxy.realtime;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.AsyncProducer;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;
import org.camelopenaiproxy.inbound.ProxyEntry;
import org.camelopenaiproxy.inbound.RequestIds;
import org.camelopenaiproxy.inbound.UpgradeEntry;
import org.camelopenaiproxy.observe.RequestObserver;
import org.camelopenaiproxy.relay.ResponseWriter;
import org.camelopenaiproxy.reload.ReloadGate;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.SessionStats;
import org.camelopenaiproxy.request.Subprotocols;
import org.camelopenaiproxy.upstream.UpstreamHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket in: a handler on platform-http's Vert.x router, ahead of the HTTP entry, that takes every
 * {@code /v1/**} request asking for a WebSocket upgrade (the Realtime API's {@code /v1/realtime}, or
 * any other path). The request is held (not yet upgraded) while route {@code realtime}
 * ({@code routes/realtime.camel.yaml}) checks the key and the key's policy and opens the upstream
 * WebSocket; only when the upstream accepted is the client upgraded, with the subprotocol the upstream
 * chose, and {@link WebSocketRelay} relays the session. A refusal (the proxy's: OpenAI-shaped; the
 * upstream's: its status and body) is a plain HTTP answer to the upgrade request. The proxy key may
 * come as {@code Authorization: Bearer}, {@code api-key}, or the browser subprotocol
 * {@code openai-insecure-api-key.<key>} ({@link Subprotocols}), which is never forwarded.
 */
public class RealtimeEntry extends ServiceSupport implements UpgradeEntry {

    private static final Logger LOG = LoggerFactory.getLogger(RealtimeEntry.class);
    private static final String API_PREFIX = "/v1/";

    private final CamelContext camelContext;
    private final String routeUri;
    private final ReloadGate gate;
    private final ResponseWriter writer;
    private final WebSocketRelay relay;
    private final RequestObserver observer;
    private Endpoint route;
    private AsyncProducer producer;

    public RealtimeEntry(CamelContext camelContext, String routeUri, ReloadGate gate, ResponseWriter writer,
            WebSocketRelay relay, RequestObserver observer) {
        this.camelContext = camelContext;
        this.observer = observer;
        this.routeUri = routeUri;
        this.gate = gate;
        this.writer = writer;
        this.relay = relay;
    }

    /** Registers the handler; call once the platform-http server is up, before the HTTP entry registers its own. */
    @Override
    public void register(Router router) throws Exception {
        start();
        router.route(API_PREFIX + "*").handler(this::handle);
        LOG.info("Serving WebSocket upgrades under /v1/ through {}", routeUri);
    }

    @Override
    protected void doStart() throws Exception {
        route = camelContext.getEndpoint(routeUri);
        producer = route.createAsyncProducer();
        ServiceHelper.startService(producer);
    }

    @Override
    protected void doStop() {
        ServiceHelper.stopService(producer);
    }

    /** A WebSocket handshake: {@code GET} with {@code Upgrade: websocket}. */
    public static boolean isUpgrade(HttpServerRequest req) {
        String upgrade = req.getHeader("Upgrade");
        return req.method() == HttpMethod.GET && upgrade != null && upgrade.trim().equalsIgnoreCase("websocket");
    }

    void handle(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        String path = ctx.normalizedPath();
        if (!isUpgrade(req) || !path.startsWith(API_PREFIX) || path.length() == API_PREFIX.length()) {
            ctx.next();
            return;
        }
        req.pause(); // the handshake is answered later: keep its (empty) body unread till then
        ProxyRequest request = new ProxyRequest(req, path, System.nanoTime());
        request.requestId(RequestIds.fromClient(req.getHeader(ProxyHeaders.X_REQUEST_ID)));
        observer.observe(request); // the session is one access-log line and one metric sample when it ends
        req.response().closeHandler(v -> request.clientLeft());
        gate.admit(() -> send(request));
    }

    private void send(ProxyRequest request) {
        Exchange exchange = ProxyEntry.exchange(route, request);
        Message message = exchange.getMessage();
        Subprotocols offer = Subprotocols.parse(request.request().getHeader(Subprotocols.HEADER));
        message.removeHeader(Subprotocols.HEADER);
        if (offer.apiKey() != null && message.getHeader(ProxyHeaders.AUTHORIZATION) == null
                && message.getHeader(ProxyHeaders.API_KEY) == null) {
            message.setHeader(ProxyHeaders.AUTHORIZATION, "Bearer " + offer.apiKey());
        }
        exchange.setProperty(RealtimeConnect.SUBPROTOCOLS, offer.forwarded());
        try {
            producer.process(exchange, doneSync -> complete(exchange, request));
        } catch (Throwable e) {
            exchange.setException(e);
            complete(exchange, request);
        }
    }

    private void complete(Exchange exchange, ProxyRequest request) {
        gate.leave();
        Object body = exchange.getMessage().getBody();
        if (exchange.getException() == null && body instanceof UpstreamSocket upstream) {
            upgrade(request, upstream);
            return;
        }
        try {
            writer.write(exchange, request); // the proxy's refusal, or the upstream's
        } catch (RuntimeException e) {
            LOG.warn("Failed to answer a WebSocket handshake: {}", e.toString());
            request.request().response().reset();
        }
        if (request.clientGone()) {
            request.end(Outcome.clientLeft()); // the writer wrote nothing: the request ends here
        }
    }

    /** The upstream accepted: upgrade the client with the upstream's subprotocol, then relay. */
    private void upgrade(ProxyRequest request, UpstreamSocket upstream) {
        HttpServerRequest req = request.request();
        if (request.clientGone() || req.response().closed()) {
            upstream.socket().close(WebSocketRelay.GOING_AWAY, "client left");
            request.end(Outcome.clientLeft());
            return;
        }
        io.vertx.core.MultiMap head = req.response().headers();
        UpstreamHeaders.toClient(upstream.handshakeHeaders(), head);
        head.remove(ProxyHeaders.CONTENT_LENGTH);
        head.set(ProxyHeaders.X_REQUEST_ID, request.requestId());
        if (request.rateLimits() != null) {
            request.rateLimits().writeTo(head);
        }
        String subprotocol = upstream.socket().subProtocol();
        if (subprotocol != null) {
            head.set(Subprotocols.HEADER, subprotocol); // handed to the handshake as is
        }
        SessionStats stats = new SessionStats(upstream.deployment().name());
        request.session(stats);
        req.toWebSocket().onComplete(upgraded -> {
            if (upgraded.failed()) {
                LOG.debug("Client WebSocket upgrade failed: {}", upgraded.cause().toString());
                upstream.socket().close(WebSocketRelay.GOING_AWAY, "client upgrade failed");
                request.end(Outcome.clientLeft());
                return;
            }
            ServerWebSocket client = upgraded.result();
            client.pause();
            relay.start(request, client, upstream.socket(), stats);
        });
    }
}
