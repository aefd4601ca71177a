import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Fake OpenAI upstream for bench/soak.sh, with faults switched at run time.
 * POST /v1/chat/completions: a small chat.completion after 20 ms, or (body with "stream": true)
 * 10 chat.completion.chunk events 50 ms apart then [DONE]. POST /control?mode=ok|fail switches
 * to answering every chat with 500 (an OpenAI-shaped server_error) and back. Once a second it
 * prints "<epoch ms> <requests> <failed>" for that second, for the soak's upstream request rate.
 * Usage: java -cp camel-openai-proxy.jar SoakUpstream.java <port> <name>
 */
public class SoakUpstream {

    static volatile boolean failing;

    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        String name = args[1];
        Vertx vertx = Vertx.vertx();
        AtomicLong requests = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        vertx.setPeriodic(1000, id -> System.out.println(System.currentTimeMillis() + " " + requests.getAndSet(0) + " "
                + failed.getAndSet(0)));
        vertx.createHttpServer().requestHandler(req -> {
            if (req.path().equals("/control")) {
                failing = "fail".equals(req.getParam("mode"));
                req.response().end(name + (failing ? " failing\n" : " ok\n"));
                return;
            }
            req.body().onSuccess(body -> {
                requests.incrementAndGet();
                if (failing) {
                    failed.incrementAndGet();
                    req.response().setStatusCode(500).putHeader("Content-Type", "application/json")
                            .end("{\"error\":{\"message\":\"The server had an error while processing your request.\","
                                    + "\"type\":\"server_error\",\"param\":null,\"code\":null}}");
                    return;
                }
                if (body.toString().contains("\"stream\":true")) {
                    stream(vertx, req);
                } else {
                    vertx.setTimer(20, t -> req.response().putHeader("Content-Type", "application/json")
                            .end("{\"id\":\"chatcmpl-soak\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
                                    + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok from "
                                    + name + "\"},\"finish_reason\":\"stop\"}],"
                                    + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}"));
                }
            });
        }).listen(port, "127.0.0.1").onFailure(e -> {
            System.err.println("cannot listen on " + port + ": " + e);
            System.exit(1);
        });
    }

    static void stream(Vertx vertx, HttpServerRequest req) {
        req.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
        next(vertx, req, 0);
    }

    static void next(Vertx vertx, HttpServerRequest req, int i) {
        if (req.response().closed()) {
            return;
        }
        if (i == 10) {
            req.response().end("data: [DONE]\n\n");
            return;
        }
        req.response().write("data: {\"id\":\"chatcmpl-soak\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\"t" + i + "\"}}]}\n\n");
        vertx.setTimer(50, t -> next(vertx, req, i + 1));
    }
}
