package org.camelopenaiproxy.support;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;

/**
 * A tiny upstream on 127.0.0.1 whose behaviour a test scripts with Vert.x timers: spaced SSE events,
 * a connection dropped mid-stream, silence. It records when the proxy closed a connection to it,
 * which is how a test sees that a client's disconnect cancelled the upstream call.
 */
public final class ScriptedUpstream implements AutoCloseable {

    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;
    private volatile Consumer<HttpServerRequest> script = req -> req.response().setStatusCode(404).end();
    private volatile CompletableFuture<Long> connectionClosed = new CompletableFuture<>();

    public ScriptedUpstream() throws Exception {
        server = vertx.createHttpServer()
                .requestHandler(req -> {
                    req.connection().closeHandler(v -> connectionClosed.complete(System.nanoTime()));
                    script.accept(req);
                })
                .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** Starts one and publishes its base URL as the system property {@code property} (for test properties). */
    public static ScriptedUpstream startedAs(String property) {
        try {
            ScriptedUpstream upstream = new ScriptedUpstream();
            System.setProperty(property, upstream.baseUrl());
            return upstream;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.actualPort() + "/v1";
    }

    public Vertx vertx() {
        return vertx;
    }

    /** What the upstream does with the next requests; also forgets earlier connection closes. */
    public void script(Consumer<HttpServerRequest> script) {
        this.connectionClosed = new CompletableFuture<>();
        this.script = script;
    }

    /** Completes with {@link System#nanoTime()} when a connection from the proxy closes. */
    public CompletableFuture<Long> connectionClosed() {
        return connectionClosed;
    }

    /** Streams {@code count} chat.completion.chunk events, {@code intervalMs} apart, then [DONE]. */
    public void streamEvents(HttpServerRequest req, int count, long intervalMs) {
        req.response().setStatusCode(200).setChunked(true)
                .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                .putHeader("x-request-id", "req_stream");
        req.response().write(event(0));
        sendNext(req, 1, count, intervalMs);
    }

    private void sendNext(HttpServerRequest req, int i, int count, long intervalMs) {
        vertx.setTimer(intervalMs, id -> {
            if (req.response().closed()) {
                return;
            }
            if (i < count) {
                req.response().write(event(i));
                sendNext(req, i + 1, count, intervalMs);
            } else {
                req.response().end("data: [DONE]\n\n");
            }
        });
    }

    public static String event(int i) {
        return "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t"
               + i + "\"}}]}\n\n";
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
