/*
 * Fake OpenAI upstream for the benchmark harness.
 *
 * Launch (Java single-file source mode, fat jar on the classpath for Vert.x core):
 *   java -cp target/camel-openai-proxy.jar bench/FakeUpstream.java <port> [eventLoops]
 *
 * Behaviour:
 *   POST /v1/chat/completions
 *     - body without "stream": true  -> small fixed chat.completion JSON (~300 bytes) with a usage object
 *     - body with    "stream": true  -> text/event-stream: N chat.completion.chunk events D ms apart,
 *                                       then "data: [DONE]". Each event is a separate write (flushed),
 *                                       scheduled with Vert.x timers (never blocks the event loop).
 *                                       N (default 20) / D (default 50) can be overridden per request via
 *                                       headers x-bench-events / x-bench-interval-ms, or (for proxies that
 *                                       drop unknown headers) query parameters ?bench_events=&bench_interval_ms=
 *   GET  /v1/models                  -> tiny model list
 *   GET  /health                     -> 200 "ok" (no auth; used by the harness for readiness)
 *   anything else                    -> 404 JSON
 *
 * If env OPENAI_API_KEY is set, every /v1/ request must carry "Authorization: Bearer $OPENAI_API_KEY",
 * otherwise it is answered 401 JSON. This lets the bench prove that a proxy injects the upstream key.
 *
 * On SIGTERM/exit it prints a one-line counter summary to stderr.
 */

import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

public class FakeUpstream {

    static final Pattern STREAM_TRUE = Pattern.compile("\"stream\"\\s*:\\s*true");
    static final int DEFAULT_EVENTS = 20;
    static final int DEFAULT_INTERVAL_MS = 50;
    static final int MAX_EVENTS = 100_000;

    static final CharSequence CT_JSON = HttpHeaders.createOptimized("application/json");
    static final CharSequence CT_SSE = HttpHeaders.createOptimized("text/event-stream");
    static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");

    static final Buffer COMPLETION = Buffer.buffer(
        "{\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion\",\"created\":1700000000,"
            + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
            + "\"content\":\"Hello from the fake upstream.\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":7,\"total_tokens\":16},"
            + "\"system_fingerprint\":\"fp_bench\"}");
    static final Buffer MODELS = Buffer.buffer(
        "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o-mini\",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"bench\"}]}");
    static final Buffer UNAUTHORIZED = Buffer.buffer(
        "{\"error\":{\"message\":\"fake upstream: missing or wrong upstream API key\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}");
    static final Buffer NOT_FOUND = Buffer.buffer(
        "{\"error\":{\"message\":\"fake upstream: unknown path\",\"type\":\"invalid_request_error\",\"code\":\"not_found\"}}");
    static final Buffer DONE = Buffer.buffer("data: [DONE]\n\n");

    static final LongAdder completions = new LongAdder();
    static final LongAdder streams = new LongAdder();
    static final LongAdder streamsDone = new LongAdder();
    static final LongAdder unauthorized = new LongAdder();
    static final LongAdder aborted = new LongAdder();

    static String expectedAuth;

    static Buffer chunk(int i, int n) {
        String delta = i == 0 ? "{\"role\":\"assistant\",\"content\":\"\"}" : "{\"content\":\"tok" + i + " \"}";
        String finish = i == n - 1 ? "\"stop\"" : "null";
        return Buffer.buffer("data: {\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
            + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":" + delta
            + ",\"logprobs\":null,\"finish_reason\":" + finish + "}]}\n\n");
    }

    // pre-rendered chunks for the default event count (others rendered on the fly)
    static final Buffer[] DEFAULT_CHUNKS = new Buffer[DEFAULT_EVENTS];
    static {
        for (int i = 0; i < DEFAULT_EVENTS; i++) DEFAULT_CHUNKS[i] = chunk(i, DEFAULT_EVENTS);
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: FakeUpstream <port> [eventLoops]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        int loops = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String key = System.getenv("OPENAI_API_KEY");
        expectedAuth = key == null || key.isEmpty() ? null : "Bearer " + key;

        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.err.println(
            "fake-upstream: completions=" + completions.sum() + " streams=" + streams.sum() + " streamsDone=" + streamsDone.sum()
                + " aborted=" + aborted.sum() + " unauthorized=" + unauthorized.sum())));

        vertx.deployVerticle(() -> new AbstractVerticle() {
            @Override
            public void start(Promise<Void> started) {
                HttpServerOptions opts = new HttpServerOptions()
                    .setHost("127.0.0.1").setPort(port)
                    .setAcceptBacklog(8192)
                    .setTcpNoDelay(true)
                    .setReuseAddress(true)
                    .setCompressionSupported(false)
                    .setIdleTimeout(0);
                vertx.createHttpServer(opts).requestHandler(FakeUpstream::handle).listen()
                    .<Void>mapEmpty().onComplete(started);
            }
        }, new DeploymentOptions().setInstances(loops)).onComplete(ar -> {
            if (ar.succeeded()) {
                System.out.println("fake-upstream listening on 127.0.0.1:" + port + " eventLoops=" + loops
                    + " auth=" + (expectedAuth == null ? "off" : "on"));
            } else {
                System.err.println("fake-upstream failed to start: " + ar.cause());
                System.exit(1);
            }
        });
    }

    static void handle(HttpServerRequest req) {
        String path = req.path();
        if ("/health".equals(path)) {
            req.response().end("ok");
            return;
        }
        if (path.startsWith("/v1/") && expectedAuth != null && !expectedAuth.equals(req.getHeader(HttpHeaders.AUTHORIZATION))) {
            unauthorized.increment();
            // drain body (if any) then answer
            req.body().onComplete(ar -> send(req.response().setStatusCode(401), CT_JSON, UNAUTHORIZED));
            return;
        }
        if (req.method() == HttpMethod.POST && "/v1/chat/completions".equals(path)) {
            req.body().onComplete(ar -> {
                if (ar.failed()) {
                    return; // connection gone
                }
                Buffer body = ar.result();
                if (isStream(body)) {
                    stream(req);
                } else {
                    completions.increment();
                    send(req.response(), CT_JSON, COMPLETION);
                }
            });
            return;
        }
        if (req.method() == HttpMethod.GET && "/v1/models".equals(path)) {
            send(req.response(), CT_JSON, MODELS);
            return;
        }
        req.body().onComplete(ar -> send(req.response().setStatusCode(404), CT_JSON, NOT_FOUND));
    }

    static boolean isStream(Buffer body) {
        if (body == null || body.length() == 0) return false;
        String s = body.toString(StandardCharsets.UTF_8);
        if (s.indexOf("\"stream\"") < 0) return false;
        return STREAM_TRUE.matcher(s).find();
    }

    static void send(HttpServerResponse resp, CharSequence contentType, Buffer body) {
        resp.putHeader(HttpHeaders.CONTENT_TYPE, contentType);
        resp.end(body);
    }

    /** Override from request header {@code name}, else from query parameter {@code param}, else the default. */
    static int intOverride(HttpServerRequest req, String name, String param, int dflt, int min, int max) {
        String v = req.getHeader(name);
        if (v == null && req.query() != null) v = req.getParam(param);
        if (v == null) return dflt;
        try {
            int x = Integer.parseInt(v.trim());
            return Math.max(min, Math.min(max, x));
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    static void stream(HttpServerRequest req) {
        streams.increment();
        final int n = intOverride(req, "x-bench-events", "bench_events", DEFAULT_EVENTS, 0, MAX_EVENTS);
        final int interval = intOverride(req, "x-bench-interval-ms", "bench_interval_ms", DEFAULT_INTERVAL_MS, 0, 60_000);
        final Vertx vertx = Vertx.currentContext().owner();
        final HttpServerResponse resp = req.response();
        resp.setChunked(true)
            .putHeader(HttpHeaders.CONTENT_TYPE, CT_SSE)
            .putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE);

        // state: [0] = next event index, [1] = timer id (or -1)
        final long[] st = {0, -1};
        resp.closeHandler(v -> {
            if (st[1] >= 0) {
                vertx.cancelTimer(st[1]);
                st[1] = -1;
            }
            if (st[0] <= n) aborted.increment();
        });

        Runnable writeNext = new Runnable() {
            @Override
            public void run() {
                if (resp.closed() || resp.ended()) return;
                int i = (int) st[0]++;
                if (i < n) {
                    resp.write(n == DEFAULT_EVENTS ? DEFAULT_CHUNKS[i] : chunk(i, n));
                }
                if (i >= n - 1) {
                    // last content event (or no events at all): finish right after it
                    st[0] = n + 1;
                    resp.end(DONE);
                    streamsDone.increment();
                    return;
                }
                if (interval <= 0) {
                    vertx.runOnContext(v -> run());
                } else {
                    st[1] = vertx.setTimer(interval, id -> {
                        st[1] = -1;
                        run();
                    });
                }
            }
        };
        // first event goes out immediately (time-to-first-byte is then pure transport/proxy overhead)
        writeNext.run();
    }
}
