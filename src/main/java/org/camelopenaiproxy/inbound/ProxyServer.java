package org.camelopenaiproxy.inbound;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import org.apache.camel.support.service.ServiceSupport;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API listener: the proxy's own Vert.x HTTP server (one instance per event loop asked for), so
 * that TLS, mTLS, HTTP/2, header and connection limits are the proxy's to set; platform-http's
 * server options cannot be. Each HTTP/1.x connection gets {@link StrictRequestDecoder} in place of
 * Vert.x's request decoder (RFC 9112 framing checked on the raw head). Requests pass {@link EdgeGuard} first, then go to the WebSocket entry,
 * the HTTP entry ({@code /v1/**}), or, when management shares this port, to Camel's management
 * router ({@code /observe/**}: health, metrics). A request the HTTP decoder refuses (a header or
 * request line too long, a malformed head, a head {@link StrictRequestDecoder} refused) gets an
 * OpenAI-shaped 431/414/400/501/505 and the connection is closed.
 */
public class ProxyServer extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);

    private final Vertx vertx;
    private final ListenerSettings settings;
    private final ConnectionGuard connections;
    private final EdgeGuard guard;
    private final UpgradeEntry upgrades;
    private final ProxyEntry entry;
    private final Supplier<Router> managementRouter;
    private final List<HttpServer> servers = new ArrayList<>();
    private volatile ShutdownDrain drain;

    /** @param managementRouter Camel's management router to serve {@code /observe/**} here, or {@code null} */
    public ProxyServer(Vertx vertx, ListenerSettings settings, ConnectionGuard connections, EdgeGuard guard,
            UpgradeEntry upgrades, ProxyEntry entry, Supplier<Router> managementRouter) {
        this.vertx = vertx;
        this.settings = settings;
        this.connections = connections;
        this.guard = guard;
        this.upgrades = upgrades;
        this.entry = entry;
        this.managementRouter = managementRouter;
    }

    @Override
    protected void doStart() throws Exception {
        HttpServerOptions options = settings.toServerOptions();
        if (options.isHttp2ClearTextEnabled() && connections.readTimeoutMillis() > 0) {
            // With h2c, Vert.x makes the connection (and calls the connection handler below, where
            // ConnectionGuard arms its read deadline) only once it has seen the HTTP/2 preface or a
            // whole first request head. Until then nothing here sees the connection: one that sent
            // nothing stayed open for ever, outside the connection limits. Vert.x's own idle
            // timeout is the only guard of that phase (its h2c detector closes a connection idle
            // that long); once the connection is made, ConnectionGuard takes over and the idle
            // handler is removed (it would also close an HTTP/2 connection whose open stream waits
            // on a slow upstream). A client trickling a partial head byte by byte is not idle: that
            // remains h2c's gap (README).
            options.setIdleTimeout((int) Math.min(Integer.MAX_VALUE, connections.readTimeoutMillis()))
                    .setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
        }
        Router router = Router.router(vertx);
        router.route().handler(ctx -> guard.handle(ctx, entry));
        // what Vert.x Web itself refuses (a path it cannot decode) or a handler throws: OpenAI-shaped too
        router.errorHandler(400, ctx -> entry.reject(ctx, ProxyException.badRequest("invalid_path",
                "The request path could not be decoded.")));
        router.errorHandler(500, ctx -> {
            Throwable failure = ctx.failure();
            entry.reject(ctx, failure instanceof IllegalArgumentException
                    ? ProxyException.badRequest("invalid_path", "The request path could not be decoded.")
                    : OpenAiError.from(failure));
        });
        Router management = managementRouter == null ? null : managementRouter.get();
        if (management != null) {
            router.route("/observe*").handler(ctx -> management.handle(ctx.request()));
        }
        upgrades.register(router); // WebSocket upgrades first
        entry.register(router);
        int instances = settings.instances() > 0 ? settings.instances() : Runtime.getRuntime().availableProcessors();
        List<Future<HttpServer>> listening = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            HttpServer server = vertx.createHttpServer(options)
                    .connectionHandler(connection -> {
                        StrictRequestDecoder.install(connection, options, guard.maxHeaders()); // RFC 9112 checks before Netty's decoder
                        H2cIdle.handOver(connection, options);
                        connections.connected(connection);
                    })
                    .invalidRequestHandler(this::invalidRequest)
                    .requestHandler(req -> {
                        if (drain != null && drain.refused(req)) {
                            return;
                        }
                        if (guard.admit(req, entry)) {
                            router.handle(req);
                        }
                    });
            servers.add(server);
            listening.add(server.listen());
        }
        if (Context.isOnEventLoopThread()) {
            throw new IllegalStateException("start the API listener from a Camel/main thread, not an event loop");
        }
        try {
            Future.all(listening).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            for (HttpServer s : servers) {
                s.close();
            }
            servers.clear();
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalStateException("Cannot listen on " + settings.host() + ":" + options.getPort() + ": "
                    + cause.getMessage() + " (another process on that port? set PROXY_PORT or proxy.port)", null);
        }
        LOG.info("Listening on {}://{}:{} ({} event loop{}{}{}); /observe/** {}", options.isSsl() ? "https" : "http",
                settings.host(), servers.get(0).actualPort(), instances, instances == 1 ? "" : "s",
                options.isSsl() && options.isUseAlpn() ? ", HTTP/2" : "",
                options.isSsl() ? ", client certificates " + options.getClientAuth().name().toLowerCase() : "",
                management != null ? "on this port" : "on the management port only");
    }

    @Override
    protected void doStop() throws Exception {
        List<Future<Void>> closing = new ArrayList<>();
        for (HttpServer s : servers) {
            closing.add(s.close());
        }
        servers.clear();
        if (!Context.isOnEventLoopThread()) { // never wait on an event loop: the close completes on one
            Future.all(closing).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /** While it drains, API requests are refused with 503 and {@code Connection: close} (over HTTP/2: GOAWAY). */
    public void drainWith(ShutdownDrain drain) {
        this.drain = drain;
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return servers.isEmpty() ? settings.port() : servers.get(0).actualPort();
    }

    /** What the HTTP decoder refused: an OpenAI-shaped error, then the connection closes. */
    private void invalidRequest(HttpServerRequest request) {
        Throwable cause = request.decoderResult().cause();
        int status;
        String code;
        String message;
        if (cause instanceof StrictRequestDecoder.HeadRefused refused) {
            status = refused.status();
            code = refused.code();
            message = refused.getMessage();
        } else if (cause instanceof TooLongHttpHeaderException) {
            status = 431;
            code = "request_header_fields_too_large";
            message = "The request headers are too large (at most " + settings.maxHeaderBytes() + " bytes).";
        } else if (cause instanceof TooLongHttpLineException) {
            status = 414;
            code = "uri_too_long";
            message = "The request line is too long (at most " + settings.maxInitialLineBytes() + " bytes).";
        } else {
            status = 400;
            code = "malformed_request";
            message = "The request could not be parsed as HTTP.";
        }
        HttpServerResponse response = request.response();
        response.setStatusCode(status)
                .putHeader(ProxyHeaders.CONTENT_TYPE, OpenAiError.CONTENT_TYPE)
                .putHeader(ProxyHeaders.CONNECTION, "close");
        response.end(Buffer.buffer(OpenAiError.body("invalid_request_error", code, null, message)))
                .onComplete(v -> request.connection().close());
    }
}
