import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load for bench/soak.sh: keeps --concurrency requests in flight against the proxy for --duration-s
 * (every --stream-every-th... 30 % of them streams), and sorts every outcome:
 *   ok                      2xx, complete (a stream saw [DONE])
 *   <status> <code|type>    an OpenAI-shaped error answer (what the client got)
 *   stream_error_event      a 2xx stream that ended with an SSE error event
 *   lost                    anything else: reset, cut stream, a non-OpenAI error body
 *   hung                    no outcome within --request-timeout-s (or still open at the end)
 * Prints per-second client rates ("C <epoch ms> <started>") and a final RESULT block, including the
 * success rate of requests started after --recovered-at-ms (epoch ms).
 */
public class SoakLoad {

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new TreeMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String base = a.get("url");
        String key = a.get("key");
        int concurrency = Integer.parseInt(a.getOrDefault("concurrency", "16"));
        long durationMs = Long.parseLong(a.getOrDefault("duration-s", "120")) * 1000;
        long recoveredAt = Long.parseLong(a.getOrDefault("recovered-at-ms", "0"));
        long requestTimeoutMs = Long.parseLong(a.getOrDefault("request-timeout-s", "60")) * 1000;
        java.net.URI uri = java.net.URI.create(base);

        Vertx vertx = Vertx.vertx();
        HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(concurrency * 2));
        Map<String, AtomicInteger> kinds = new ConcurrentHashMap<>();
        AtomicInteger sent = new AtomicInteger();
        AtomicInteger afterSent = new AtomicInteger();
        AtomicInteger afterOk = new AtomicInteger();
        AtomicLong startedThisSecond = new AtomicLong();
        Map<Long, Long> open = new ConcurrentHashMap<>();
        long start = System.currentTimeMillis();
        long end = start + durationMs;
        CountDownLatch finished = new CountDownLatch(concurrency);
        vertx.setPeriodic(1000, id -> System.out.println("C " + System.currentTimeMillis() + " " + startedThisSecond.getAndSet(0)
                + " " + open.size()));

        Runnable[] loop = new Runnable[1];
        AtomicLong ids = new AtomicLong();
        loop[0] = () -> {
            long now = System.currentTimeMillis();
            if (now >= end) {
                finished.countDown();
                return;
            }
            long id = ids.incrementAndGet();
            boolean stream = id % 10 < 3;
            sent.incrementAndGet();
            startedThisSecond.incrementAndGet();
            boolean counted = now >= recoveredAt && recoveredAt > 0;
            if (counted) {
                afterSent.incrementAndGet();
            }
            open.put(id, now);
            boolean[] settled = {false};
            java.util.function.Consumer<String> done = kind -> {
                if (settled[0]) {
                    return;
                }
                settled[0] = true;
                open.remove(id);
                kinds.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
                if (counted && kind.equals("ok")) {
                    afterOk.incrementAndGet();
                }
                vertx.runOnContext(v -> loop[0].run());
            };
            long timer = vertx.setTimer(requestTimeoutMs, t -> done.accept("hung"));
            String body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"soak " + id + "\"}]"
                    + (stream ? ",\"stream\":true" : "") + "}";
            client.request(new RequestOptions().setMethod(HttpMethod.POST).setHost(uri.getHost()).setPort(uri.getPort())
                    .setURI("/v1/chat/completions").putHeader("Authorization", "Bearer " + key)
                    .putHeader("Content-Type", "application/json"))
                    .compose(req -> req.send(body))
                    .compose(resp -> resp.body().map(b -> classify(resp.statusCode(), b, stream)))
                    .onComplete(r -> {
                        vertx.cancelTimer(timer);
                        done.accept(r.succeeded() ? r.result() : "lost");
                    });
        };
        for (int i = 0; i < concurrency; i++) {
            vertx.runOnContext(v -> loop[0].run());
        }
        boolean allDone = finished.await(durationMs + requestTimeoutMs + 30_000, TimeUnit.MILLISECONDS);
        // requests still open after the run: wait for them within the request timeout
        long waitUntil = System.currentTimeMillis() + requestTimeoutMs;
        while (!open.isEmpty() && System.currentTimeMillis() < waitUntil) {
            Thread.sleep(100);
        }
        int hungAtEnd = open.size();
        System.out.println("RESULT sent " + sent.get());
        int ok = kinds.getOrDefault("ok", new AtomicInteger()).get();
        System.out.println("RESULT succeeded " + ok);
        int lost = 0;
        int hung = hungAtEnd;
        for (Map.Entry<String, AtomicInteger> e : new TreeMap<>(kinds).entrySet()) {
            if (!e.getKey().equals("ok")) {
                System.out.println("RESULT failed[" + e.getKey() + "] " + e.getValue().get());
            }
            if (e.getKey().equals("lost")) {
                lost = e.getValue().get();
            }
            if (e.getKey().equals("hung")) {
                hung += e.getValue().get();
            }
        }
        System.out.println("RESULT hung " + hung + (allDone ? "" : " (loop did not end in time)"));
        System.out.println("RESULT lost " + lost);
        System.out.printf("RESULT success_after_recovery %d/%d = %.2f%%%n", afterOk.get(), afterSent.get(),
                afterSent.get() == 0 ? 0.0 : 100.0 * afterOk.get() / afterSent.get());
        vertx.close();
        System.exit(0);
    }

    static String classify(int status, Buffer body, boolean stream) {
        String text = body.toString();
        if (status / 100 == 2) {
            if (!stream) {
                return text.contains("\"chat.completion\"") ? "ok" : "lost";
            }
            if (text.endsWith("data: [DONE]\n\n")) {
                return "ok";
            }
            int last = text.lastIndexOf("data: ");
            return last >= 0 && text.startsWith("data: {\"error\":", last) ? "stream_error_event" : "lost";
        }
        try {
            JsonObject error = new JsonObject(text).getJsonObject("error");
            if (error != null && error.getString("message") != null) {
                Object code = error.getValue("code");
                return status + " " + (code != null ? code : error.getString("type"));
            }
        } catch (RuntimeException notJson) {
            // falls through
        }
        return "lost";
    }
}
