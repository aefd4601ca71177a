/*
 * The Vert.x floor: the least a reverse proxy built on the proxy's own HTTP stack (Vert.x 4.5, Netty,
 * epoll) can cost per request. It is not the product and has none of its pipeline (no Camel exchange,
 * no policy, throttle, cache, usage, metrics or access log): it checks the client key the way the
 * bench's nginx does (exact match of the bearer token), swaps in the upstream key, forwards the
 * request with the same server and client options as the proxy (keep-alive pool, no compression,
 * TCP_NODELAY, native transport) and pipes the answer back. `bash bench/outside.sh floor` measures
 * it in the same pinned set-up as the proxy and nginx, so the proxy's CPU per request splits into
 * "the HTTP stack" (this) and "everything the proxy does on top" (the difference).
 *
 * Launch (single-file source mode, the fat jar on the classpath for Vert.x):
 *   BENCH_CLIENT_KEY=... OPENAI_API_KEY=... java -cp target/camel-openai-proxy.jar bench/VertxFloor.java <port> <upstreamPort>
 * GET /observe/health answers 200 (readiness for the harness).
 */

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

public class VertxFloor {

    private static final String[] HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
        "te", "trailer", "upgrade", "host", "authorization", "content-length"};

    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        int upstreamPort = Integer.parseInt(args[1]);
        String clientAuth = "Bearer " + System.getenv("BENCH_CLIENT_KEY");
        String upstreamAuth = "Bearer " + System.getenv("OPENAI_API_KEY");
        String upstreamHost = "127.0.0.1:" + upstreamPort;
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        HttpClient client = vertx.httpClientBuilder()
                .with(new HttpClientOptions().setKeepAlive(true).setKeepAliveTimeout(60).setDecompressionSupported(false))
                .with(new PoolOptions().setHttp1MaxSize(10_000).setMaxWaitQueueSize(-1))
                .build();
        vertx.createHttpServer(new HttpServerOptions().setCompressionSupported(false).setDecompressionSupported(false)
                        .setTcpNoDelay(true).setReuseAddress(true))
                .requestHandler(req -> handle(req, client, clientAuth, upstreamAuth, upstreamHost, upstreamPort))
                .listen(port, "127.0.0.1")
                .onFailure(e -> {
                    System.err.println("VertxFloor: " + e.getMessage());
                    System.exit(1);
                });
    }

    private static void handle(HttpServerRequest req, HttpClient client, String clientAuth, String upstreamAuth,
            String upstreamHost, int upstreamPort) {
        if (req.path().equals("/observe/health")) {
            req.response().end("ok");
            return;
        }
        if (!clientAuth.equals(req.getHeader("Authorization"))) {
            req.response().setStatusCode(401).putHeader("Content-Type", "application/json")
                    .end("{\"error\":{\"message\":\"invalid client key\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}");
            return;
        }
        req.pause();
        client.request(new RequestOptions().setMethod(req.method()).setHost("127.0.0.1").setPort(upstreamPort)
                        .setURI(req.uri()))
                .onFailure(e -> req.response().setStatusCode(502).end())
                .onSuccess(upstream -> {
                    MultiMap headers = upstream.headers();
                    headers.setAll(req.headers());
                    for (String h : HOP_BY_HOP) {
                        headers.remove(h);
                    }
                    headers.set("Host", upstreamHost).set("Authorization", upstreamAuth);
                    String length = req.getHeader("Content-Length");
                    if (length != null) {
                        headers.set("Content-Length", length);
                    }
                    upstream.send(req)
                            .onFailure(e -> req.response().setStatusCode(502).end())
                            .onSuccess(answer -> {
                                var response = req.response().setStatusCode(answer.statusCode());
                                response.headers().setAll(answer.headers());
                                for (String h : HOP_BY_HOP) {
                                    response.headers().remove(h);
                                }
                                String answerLength = answer.getHeader("Content-Length");
                                if (answerLength != null) {
                                    response.putHeader("Content-Length", answerLength);
                                }
                                response.send(answer);
                            });
                });
    }
}
