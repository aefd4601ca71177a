/*
 * Concurrent SSE streaming load client for the benchmark harness (Vert.x HttpClient, non-blocking).
 *
 * Launch (Java single-file source mode, fat jar on the classpath for Vert.x core):
 *   java -cp target/camel-openai-proxy.jar bench/StreamLoad.java <baseUrl> [options]
 *
 *   baseUrl                e.g. http://127.0.0.1:8080   (the client POSTs <baseUrl>/v1/chat/completions)
 *   --streams N            concurrent streams per round (default 100)
 *   --rounds R             run R rounds one after the other (default 1); stats aggregate all measured rounds
 *   --warmup-rounds W      extra rounds run first and not counted (default 0); they use short streams
 *                          (min(E,2) events, no gap) and exist to JIT-compile client and server code paths.
 *   --events E             expected SSE events per stream (default 20, sent as header x-bench-events)
 *   --interval-ms D        expected gap between events (default 50, sent as header x-bench-interval-ms)
 *                          When E/D differ from the fake upstream's defaults (20/50) they are also sent as query
 *                          parameters ?bench_events=E&bench_interval_ms=D, in case a proxy drops unknown headers.
 *                          Streams whose event count differs from E are reported (event_mismatch).
 *   --warmup-max-s S       stop warm-up rounds after S seconds even if fewer than W ran (default 15)
 *   --key K                client key, sent as "Authorization: Bearer K" (default: env BENCH_CLIENT_KEY, else none)
 *   --deadline-s S         overall deadline for all rounds (default 60); exceeded -> exit 3
 *   --event-loops L        client event loops (default 1)
 *   --label TEXT           label printed in the summary
 *   --ramp-ms MS           spread the start of the N streams of a round over MS milliseconds (default 0 = all at once)
 *   --stream-timeout-s T   give up on a single stream after T seconds (default 30): it is counted as failed, its
 *                          connection is reset, and the run goes on
 *   --new-connections      use a fresh connection pool for every round, so every stream pays its own TCP connect
 *                          (default: one pool for all rounds, connections are kept alive and reused)
 *
 * Per stream it records: time to response headers, time to first body byte, arrival time of every SSE event,
 * completed (saw "data: [DONE]"), incremental (first event arrived >= 40% of the expected stream duration
 * (E-1)*D before the last event, i.e. the stream was not delivered in one lump at the end).
 *
 * Output: a human readable summary plus one machine-readable line starting with "RESULT ".
 * Exit: 0 = every stream completed, 1 = some streams failed (HTTP error, reset, no [DONE]), 3 = deadline hit.
 */

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

public class StreamLoad {

    static final String BODY = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final double INCREMENTAL_FRACTION = 0.40;

    static final class Stream {
        final int id;
        long startNs;
        long headersNs = -1;
        long firstByteNs = -1;
        long endNs = -1;
        int status = -1;
        final long[] eventNs;
        int events;      // data events excluding [DONE]
        boolean done;    // saw data: [DONE]
        boolean finished; // response ended or failed
        String error;
        io.vertx.core.http.HttpClientRequest request;
        long timerId = -1;
        final byte[] line = new byte[16]; // first bytes of the current line
        int lineLen;
        boolean eventHasData, eventIsDone;

        Stream(int id, int expectedEvents) {
            this.id = id;
            this.eventNs = new long[Math.max(4, expectedEvents + 4)];
        }

        long[] events() {
            return Arrays.copyOf(eventNs, Math.min(events, eventNs.length));
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args[0].startsWith("-")) {
            System.err.println("usage: StreamLoad <baseUrl> [--streams N] [--rounds R] [--warmup-rounds W] [--events E] "
                + "[--interval-ms D] [--key K] [--deadline-s S] [--event-loops L] [--label TEXT] [--ramp-ms MS]");
            System.exit(2);
        }
        URI base = URI.create(args[0]);
        int n = 100, rounds = 1, warmupRounds = 0, events = 20, interval = 50, deadlineS = 60, loops = 1, rampMs = 0;
        boolean newConnections = false;
        int streamTimeoutS = 30;
        int warmupMaxS = 15;
        String key = System.getenv("BENCH_CLIENT_KEY");
        String label = "";
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--streams": n = Integer.parseInt(v); i++; break;
                case "--rounds": rounds = Integer.parseInt(v); i++; break;
                case "--warmup-rounds": warmupRounds = Integer.parseInt(v); i++; break;
                case "--events": events = Integer.parseInt(v); i++; break;
                case "--interval-ms": interval = Integer.parseInt(v); i++; break;
                case "--key": key = v; i++; break;
                case "--deadline-s": deadlineS = Integer.parseInt(v); i++; break;
                case "--event-loops": loops = Integer.parseInt(v); i++; break;
                case "--label": label = v; i++; break;
                case "--ramp-ms": rampMs = Integer.parseInt(v); i++; break;
                case "--new-connections": newConnections = true; break;
                case "--stream-timeout-s": streamTimeoutS = Integer.parseInt(v); i++; break;
                case "--warmup-max-s": warmupMaxS = Integer.parseInt(v); i++; break;
                default:
                    System.err.println("unknown argument: " + a);
                    System.exit(2);
            }
        }
        if (n < 1 || rounds < 1 || events < 0) {
            System.err.println("streams/rounds must be >= 1, events >= 0");
            System.exit(2);
        }
        final String host = base.getHost();
        final int port = base.getPort() > 0 ? base.getPort() : 80;
        String basePath = base.getRawPath() == null ? "" : base.getRawPath();
        if (basePath.endsWith("/")) basePath = basePath.substring(0, basePath.length() - 1);
        final String plainPath = basePath + "/v1/chat/completions";
        final String path = events == 20 && interval == 50 ? plainPath
            : plainPath + "?bench_events=" + events + "&bench_interval_ms=" + interval;
        final String warmPath = plainPath + "?bench_events=" + Math.min(events, 2) + "&bench_interval_ms=0";
        final String auth = key == null || key.isEmpty() ? null : "Bearer " + key;

        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setWorkerPoolSize(1)
            .setInternalBlockingPoolSize(1).setBlockedThreadCheckInterval(10_000));
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(deadlineS);
        final long wallStart = System.nanoTime();
        List<Stream> measured = new ArrayList<>();
        boolean timedOut = false;
        int totalRounds = warmupRounds + rounds;
        HttpClient client = null;
        final long warmupEndNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupMaxS);
        int warmRan = 0;
        for (int r = 0; r < totalRounds && !timedOut; r++) {
            boolean warm = r < warmupRounds;
            if (warm && System.nanoTime() > warmupEndNs) {
                r = warmupRounds - 1; // skip the remaining warm-up rounds
                continue;
            }
            if (warm) warmRan++;
            if (client == null || newConnections) client = newClient(vertx, n);
            List<Stream> batch = new ArrayList<>(n);
            // warm-up rounds use short streams: they only exist to JIT-compile the client (and the server) code paths
            CompletableFuture<Void> all = runRound(vertx, client, host, port, warm ? warmPath : path, auth, n, streamTimeoutS,
                warm ? Math.min(events, 2) : events, warm ? 0 : interval, warm ? 0 : rampMs, batch);
            long remaining = deadlineNs - System.nanoTime();
            try {
                all.get(Math.max(1, remaining), TimeUnit.NANOSECONDS);
            } catch (TimeoutException te) {
                timedOut = true;
            }
            if (!warm || timedOut) measured.addAll(batch);
            if (newConnections || r == totalRounds - 1 || timedOut) {
                try {
                    client.close().toCompletionStage().toCompletableFuture().get(2, TimeUnit.SECONDS);
                } catch (Exception ignore) {
                }
            }
        }
        long wallNs = System.nanoTime() - wallStart;
        // snapshot on the event loop thread would be cleaner; we only read fields after completion/timeout
        if (warmRan < warmupRounds) {
            System.out.println((label.isEmpty() ? "" : "[" + label + "] ") + "warm-up: " + warmRan + " of " + warmupRounds
                + " rounds within --warmup-max-s " + warmupMaxS);
        }
        report(label, measured, n, rounds, events, interval, wallNs, timedOut);

        int failed = 0;
        for (Stream s : measured) if (!s.done) failed++;
        int exit = timedOut ? 3 : failed > 0 ? 1 : 0;
        // bounded shutdown
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(2, TimeUnit.SECONDS);
        } catch (Exception ignore) {
        }
        System.exit(exit);
    }

    static HttpClient newClient(Vertx vertx, int n) {
        return vertx.createHttpClient(
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_1_1)
                .setKeepAlive(true)
                .setPipelining(false)
                .setTcpNoDelay(true)
                .setConnectTimeout(10_000)
                .setIdleTimeout(0),
            new PoolOptions().setHttp1MaxSize(n).setMaxWaitQueueSize(-1));
    }

    static CompletableFuture<Void> runRound(Vertx vertx, HttpClient client, String host, int port, String path, String auth,
                                            int n, int streamTimeoutS, int events, int interval, int rampMs, List<Stream> out) {
        CompletableFuture<Void> all = new CompletableFuture<>();
        int[] remaining = {n};
        Runnable oneDone = () -> {
            synchronized (remaining) {
                if (--remaining[0] == 0) all.complete(null);
            }
        };
        Buffer body = Buffer.buffer(BODY);
        for (int i = 0; i < n; i++) {
            Stream s = new Stream(i, events);
            out.add(s);
            long delayMs = rampMs > 0 && n > 1 ? (long) rampMs * i / (n - 1) : 0;
            Runnable start = () -> startStream(vertx, client, host, port, path, auth, body, events, interval, streamTimeoutS, s, oneDone);
            if (delayMs <= 0) {
                vertx.runOnContext(v -> start.run());
            } else {
                vertx.setTimer(delayMs, id -> start.run());
            }
        }
        return all;
    }

    static void startStream(Vertx vertx, HttpClient client, String host, int port, String path, String auth, Buffer body,
                            int events, int interval, int streamTimeoutS, Stream s, Runnable oneDone) {
        s.startNs = System.nanoTime();
        if (streamTimeoutS > 0) {
            s.timerId = vertx.setTimer(streamTimeoutS * 1000L, id -> {
                s.timerId = -1;
                if (s.finished) return;
                finish(s, "stream timeout after " + streamTimeoutS + " s (events received: " + s.events
                    + (s.firstByteNs < 0 ? ", no body byte" : "") + ")", oneDone);
                if (s.request != null) s.request.reset();
            });
        }
        RequestOptions ro = new RequestOptions().setMethod(HttpMethod.POST).setHost(host).setPort(port).setURI(path)
            .putHeader("Content-Type", "application/json")
            .putHeader("Accept", "text/event-stream")
            .putHeader("x-bench-events", Integer.toString(events))
            .putHeader("x-bench-interval-ms", Integer.toString(interval));
        if (auth != null) ro.putHeader("Authorization", auth);
        client.request(ro)
            .compose(req -> {
                s.request = req;
                return req.send(body);
            })
            .onComplete(ar -> {
                if (ar.failed()) {
                    finish(s, "request failed: " + ar.cause(), oneDone);
                    return;
                }
                HttpClientResponse resp = ar.result();
                s.headersNs = System.nanoTime();
                s.status = resp.statusCode();
                resp.handler(buf -> onData(s, buf));
                resp.exceptionHandler(t -> finish(s, "response error: " + t, oneDone));
                resp.endHandler(v -> {
                    flushPending(s);
                    String err = null;
                    if (s.status != 200) err = "HTTP " + s.status;
                    else if (!s.done) err = "stream ended without [DONE]";
                    finish(s, err, oneDone);
                });
            });
    }

    // ---- SSE parsing: a small byte-level state machine (no String per event; the load client must stay cheap) ----
    static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);
    static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);
    static final int PREFIX = 16;

    static void onData(Stream s, Buffer buf) {
        long now = System.nanoTime();
        int len = buf.length();
        if (s.firstByteNs < 0 && len > 0) s.firstByteNs = now;
        if (s.status != 200) return; // error body: ignore contents
        for (int i = 0; i < len; i++) {
            byte b = buf.getByte(i);
            if (b == '\r') continue; // treat \r\n as \n
            if (b == '\n') {
                if (s.lineLen == 0) {
                    endEvent(s, now); // blank line = end of event
                } else {
                    endLine(s);
                }
                continue;
            }
            if (s.lineLen < PREFIX) s.line[s.lineLen] = b;
            s.lineLen++;
        }
    }

    static void endLine(Stream s) {
        int n = Math.min(s.lineLen, PREFIX);
        if (startsWith(s.line, n, 0, DATA)) {
            s.eventHasData = true;
            int j = DATA.length;
            while (j < n && s.line[j] == ' ') j++;
            if (startsWith(s.line, n, j, DONE)) s.eventIsDone = true;
        }
        s.lineLen = 0;
    }

    static void endEvent(Stream s, long now) {
        if (s.eventIsDone) {
            s.done = true;
        } else if (s.eventHasData) {
            if (s.events < s.eventNs.length) s.eventNs[s.events] = now;
            s.events++;
        }
        s.eventHasData = false;
        s.eventIsDone = false;
    }

    static boolean startsWith(byte[] a, int n, int off, byte[] p) {
        if (n - off < p.length) return false;
        for (int k = 0; k < p.length; k++) if (a[off + k] != p[k]) return false;
        return true;
    }

    static void flushPending(Stream s) {
        // stream ended without a trailing blank line: close the last line/event
        if (s.lineLen > 0) endLine(s);
        if (s.eventHasData) endEvent(s, System.nanoTime());
    }

    static void finish(Stream s, String err, Runnable oneDone) {
        if (s.finished) return;
        s.finished = true;
        s.endNs = System.nanoTime();
        if (s.timerId >= 0) {
            io.vertx.core.Context ctx = io.vertx.core.Vertx.currentContext();
            if (ctx != null) ctx.owner().cancelTimer(s.timerId);
            s.timerId = -1;
        }
        if (err != null) s.error = err;
        oneDone.run();
    }

    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    static String f(double d) {
        return Double.isNaN(d) ? "NaN" : String.format(Locale.ROOT, "%.2f", d);
    }

    static void report(String label, List<Stream> all, int n, int rounds, int events, int interval, long wallNs, boolean timedOut) {
        int complete = 0, incremental = 0, started = 0, errors = 0, mismatch = 0, minEv = Integer.MAX_VALUE, maxEv = 0;
        List<Double> ttfb = new ArrayList<>();
        List<Double> ttfh = new ArrayList<>();
        double gapSum = 0;
        long gapCount = 0;
        double expectedSpanMs = Math.max(0, events - 1) * (double) interval;
        java.util.Map<String, Integer> errorKinds = new java.util.TreeMap<>();
        for (Stream s : all) {
            if (s.startNs != 0) started++;
            if (s.done && s.status == 200) {
                complete++;
                if (s.events != events) mismatch++;
                minEv = Math.min(minEv, s.events);
                maxEv = Math.max(maxEv, s.events);
            }
            if (s.firstByteNs > 0) ttfb.add((s.firstByteNs - s.startNs) / 1e6);
            if (s.headersNs > 0) ttfh.add((s.headersNs - s.startNs) / 1e6);
            long[] ev = s.events();
            for (int i = 1; i < ev.length; i++) {
                gapSum += (ev[i] - ev[i - 1]) / 1e6;
                gapCount++;
            }
            if (ev.length >= 2 && expectedSpanMs > 0) {
                double span = (ev[ev.length - 1] - ev[0]) / 1e6;
                if (span >= INCREMENTAL_FRACTION * expectedSpanMs) incremental++;
            }
            String err = s.error;
            if (err == null && !s.finished) err = "unfinished at deadline";
            if (err != null) {
                errors++;
                String kind = err.length() > 120 ? err.substring(0, 120) : err;
                errorKinds.merge(kind, 1, Integer::sum);
            }
        }
        // peak number of streams open at the same time (request start .. response end)
        List<long[]> edges = new ArrayList<>();
        for (Stream s : all) {
            if (s.startNs == 0) continue;
            edges.add(new long[]{s.startNs, 1});
            edges.add(new long[]{s.endNs > 0 ? s.endNs : Long.MAX_VALUE, -1});
        }
        edges.sort((x, y) -> x[0] != y[0] ? Long.compare(x[0], y[0]) : Long.compare(x[1], y[1]));
        int open = 0, peakOpen = 0;
        for (long[] e : edges) {
            open += (int) e[1];
            peakOpen = Math.max(peakOpen, open);
        }
        double[] fb = ttfb.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] fh = ttfh.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double meanGap = gapCount == 0 ? Double.NaN : gapSum / gapCount;
        double wallMs = wallNs / 1e6;
        String lbl = label == null || label.isEmpty() ? "" : "[" + label + "] ";
        System.out.println(lbl + "streams=" + all.size() + " (" + n + " concurrent x " + rounds + " round(s)), expected "
            + events + " events " + interval + " ms apart");
        System.out.println(lbl + "complete=" + complete + " incremental=" + incremental + " errors=" + errors
            + " peak-open=" + peakOpen + (timedOut ? " TIMED-OUT" : ""));
        System.out.println(lbl + "first-byte ms: p50=" + f(pct(fb, 50)) + " p99=" + f(pct(fb, 99)) + " max=" + f(pct(fb, 100))
            + "   headers ms: p50=" + f(pct(fh, 50)) + " p99=" + f(pct(fh, 99)));
        System.out.println(lbl + "mean inter-event delay ms=" + f(meanGap) + " (expected " + interval + ")   wall ms=" + f(wallMs));
        if (mismatch > 0) {
            System.out.println(lbl + "WARNING: " + mismatch + " completed streams had " + minEv + ".." + maxEv + " events instead of "
                + events + " (x-bench-events header and ?bench_events query not passed through?)");
        }
        int shown = 0;
        for (var e : errorKinds.entrySet()) {
            if (shown++ >= 5) break;
            System.out.println(lbl + "error x" + e.getValue() + ": " + e.getKey());
        }
        System.out.println("RESULT label=" + (label == null || label.isEmpty() ? "-" : label.replace(' ', '_'))
            + " n=" + all.size() + " complete=" + complete + " incremental=" + incremental + " errors=" + errors
            + " ttfb_p50_ms=" + f(pct(fb, 50)) + " ttfb_p99_ms=" + f(pct(fb, 99)) + " ttfb_max_ms=" + f(pct(fb, 100))
            + " mean_gap_ms=" + f(meanGap) + " peak_open=" + peakOpen + " event_mismatch=" + mismatch + " wall_ms=" + f(wallMs) + " timed_out=" + timedOut);
    }
}
