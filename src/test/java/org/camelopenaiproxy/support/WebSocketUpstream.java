package org.camelopenaiproxy.support;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;

/**
 * A scripted WebSocket upstream on 127.0.0.1 (its own Vert.x): records every handshake it sees
 * (URI, headers, the peer's port), may refuse it with an HTTP answer, and by default echoes every data
 * frame back unchanged after greeting with one text frame. Subprotocol {@code realtime} is chosen
 * when offered, as OpenAI does. Plain HTTP requests are recorded likewise and answered by a script
 * ({@link #http}). With TLS server options it is an HTTPS/WSS upstream.
 */
public final class WebSocketUpstream implements AutoCloseable {

    public static final String GREETING = "{\"type\":\"session.created\"}";

    /** A handshake as the upstream saw it. */
    public record Handshake(String uri, MultiMap headers, int remotePort) {
    }

    /** A data frame as received: type, final flag and bytes. */
    public record Frame(String type, boolean isFinal, Buffer data) {
        public static Frame of(WebSocketFrame f) {
            return new Frame(f.isText() ? "text" : f.isBinary() ? "binary" : "continuation", f.isFinal(),
                    f.binaryData().copy());
        }
    }

    /** An HTTP answer instead of the upgrade. */
    public record Refusal(int status, String contentType, String body) {
    }

    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;
    private final List<Handshake> handshakes = new CopyOnWriteArrayList<>();
    private final List<Handshake> httpRequests = new CopyOnWriteArrayList<>();
    private final List<Frame> received = new CopyOnWriteArrayList<>();
    private volatile Consumer<HttpServerRequest> http = req -> req.response().setStatusCode(404).end();
    private final LinkedBlockingQueue<ServerWebSocket> sessions = new LinkedBlockingQueue<>();
    private volatile Function<HttpServerRequest, Refusal> refuse = req -> null;
    private volatile Consumer<ServerWebSocket> behaviour = this::echo;
    private volatile CompletableFuture<Short> closeSeen = new CompletableFuture<>();
    private volatile String closeReasonSeen;

    public WebSocketUpstream() throws Exception {
        this(new HttpServerOptions());
    }

    public WebSocketUpstream(HttpServerOptions options) throws Exception {
        options.setWebSocketSubProtocols(List.of("realtime")).setMaxWebSocketFrameSize(1 << 20);
        server = vertx.createHttpServer(options)
                .requestHandler(req -> {
                    if (!"websocket".equalsIgnoreCase(req.getHeader("Upgrade"))) {
                        httpRequests.add(new Handshake(req.uri(),
                                MultiMap.caseInsensitiveMultiMap().addAll(req.headers()), req.remoteAddress().port()));
                        http.accept(req);
                        return;
                    }
                    handshakes.add(new Handshake(req.uri(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers()),
                            req.remoteAddress().port()));
                    Refusal refusal = refuse.apply(req);
                    if (refusal != null) {
                        req.response().setStatusCode(refusal.status()).putHeader("Content-Type", refusal.contentType())
                                .end(refusal.body());
                        return;
                    }
                    req.toWebSocket().onSuccess(ws -> {
                        ws.closeHandler(v -> {
                            closeReasonSeen = ws.closeReason();
                            closeSeen.complete(ws.closeStatusCode());
                        });
                        sessions.add(ws);
                        behaviour.accept(ws);
                    });
                })
                .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** Greets, then echoes every data frame as it came (type, fragmentation, bytes), recording it. */
    public void echo(ServerWebSocket ws) {
        ws.writeTextMessage(GREETING);
        ws.frameHandler(frame -> {
            if (frame.isText() || frame.isBinary() || frame.isContinuation()) {
                Frame f = Frame.of(frame);
                received.add(f);
                ws.writeFrame(copy(f));
            }
        });
    }

    /** The frame to send for a recorded one: same type, final flag and bytes (text fragments may split a character). */
    public static WebSocketFrame copy(Frame f) {
        WebSocketFrameType type = switch (f.type()) {
            case "text" -> WebSocketFrameType.TEXT;
            case "binary" -> WebSocketFrameType.BINARY;
            default -> WebSocketFrameType.CONTINUATION;
        };
        return new WebSocketFrameImpl(type, f.data().copy().getByteBuf(), f.isFinal());
    }

    public int port() {
        return server.actualPort();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port() + "/v1";
    }

    public Vertx vertx() {
        return vertx;
    }

    /** Forgets earlier handshakes, frames and closes; back to echoing and accepting. */
    public void reset() {
        handshakes.clear();
        httpRequests.clear();
        received.clear();
        sessions.clear();
        refuse = req -> null;
        behaviour = this::echo;
        closeSeen = new CompletableFuture<>();
        closeReasonSeen = null;
    }

    public void refuseWith(Function<HttpServerRequest, Refusal> refuse) {
        this.refuse = refuse;
    }

    public void behaviour(Consumer<ServerWebSocket> behaviour) {
        this.behaviour = behaviour;
    }

    /** What plain (not upgrade) HTTP requests get. */
    public void http(Consumer<HttpServerRequest> http) {
        this.http = http;
    }

    /** Plain HTTP requests seen, oldest first. */
    public List<Handshake> httpRequests() {
        return httpRequests;
    }

    /** WebSocket handshakes seen, oldest first. */
    public List<Handshake> handshakes() {
        return handshakes;
    }

    public List<Frame> received() {
        return received;
    }

    /** The next session the upstream accepted. */
    public ServerWebSocket nextSession() throws InterruptedException {
        ServerWebSocket ws = sessions.poll(10, TimeUnit.SECONDS);
        if (ws == null) {
            throw new AssertionError("the upstream accepted no session");
        }
        return ws;
    }

    /** Completes with the close code the upstream got (null: the connection dropped without one). */
    public CompletableFuture<Short> closeSeen() {
        return closeSeen;
    }

    public String closeReasonSeen() {
        return closeReasonSeen;
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
