package org.camelopenaiproxy.observe;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.errors.RateLimitException;
import org.camelopenaiproxy.request.Attempt;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.SessionStats;
import org.camelopenaiproxy.request.Usage;

/**
 * The proxy's Prometheus metrics (served at {@code /observe/metrics}), recorded once per request
 * when it finishes, plus the in-flight gauge. Label values are bounded: endpoints by
 * {@link EndpointLabel}, models by {@link ModelLabels}, keys by the names in keys.yaml (never a
 * key), deployments by upstreams.yaml. The meters live in the proxy's own registry, so a YAML
 * route reload does not reset them.
 */
public final class ProxyMetrics {

    public static final String NONE = "none";

    private static final Duration[] LATENCY_BUCKETS = durations(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
            10000, 30000, 60000, 120000);
    private static final Duration[] ADDED_BUCKETS = {Duration.ofNanos(100_000), Duration.ofNanos(250_000),
            Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5),
            Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
            Duration.ofMillis(250), Duration.ofMillis(1000)};

    private final MeterRegistry registry;
    private final ModelLabels models;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ConcurrentHashMap<List<String>, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<List<String>, Timer> timers = new ConcurrentHashMap<>();

    public ProxyMetrics(MeterRegistry registry, ModelLabels models) {
        this.registry = registry;
        this.models = models;
        Gauge.builder("proxy.requests.in.flight", inFlight, AtomicInteger::get)
                .description("Requests (and streams) the proxy is answering now").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void started() {
        inFlight.incrementAndGet();
    }

    public int inFlight() {
        return inFlight.get();
    }

    /** Everything about one finished request; called exactly once per request, on its event loop. */
    public void finished(ProxyRequest request, Outcome outcome, long endNanos) {
        inFlight.decrementAndGet();
        String endpoint = EndpointLabel.of(request.path());
        String key = request.client() == null ? NONE : request.client().name();
        int status = outcome.status();
        SessionStats session = request.session();
        boolean served = (status >= 200 && status < 300
                && (request.deployment() != null || "HIT".equals(request.cacheStatus())))
                || (session != null && session.deployment() != null);
        String model = models.label(request.facts().model(), served);

        counter("proxy.requests", "Requests answered", "endpoint", endpoint, "model", model, "key", key,
                "status", Integer.toString(status)).increment();
        timer("proxy.request.duration", "Time from the request's arrival until its answer ended", LATENCY_BUCKETS,
                "endpoint", endpoint).record(endNanos - request.startNanos(), TimeUnit.NANOSECONDS);

        Usage usage = outcome.usage();
        if (usage != null) {
            counter("proxy.tokens", "Tokens the upstream reported", "key", key, "model", model, "type", "input")
                    .increment(usage.promptTokens());
            counter("proxy.tokens", "Tokens the upstream reported", "key", key, "model", model, "type", "output")
                    .increment(usage.completionTokens());
        }
        if (request.firstByteNanos() > 0 && request.facts().stream()) {
            timer("proxy.time.to.first.token", "Time from the request's arrival to the first streamed event",
                    LATENCY_BUCKETS, "endpoint", endpoint, "model", model)
                    .record(request.firstByteNanos() - request.startNanos(), TimeUnit.NANOSECONDS);
        }
        long added = addedNanos(request, endNanos);
        if (added >= 0) {
            timer("proxy.added.latency", "Time the proxy itself added before the answer's head (upstream time excluded)",
                    ADDED_BUCKETS, "endpoint", endpoint).record(added, TimeUnit.NANOSECONDS);
        }
        upstreamAttempts(request.attempts(), endpoint);
        if (session != null) {
            session(session, endpoint);
        }
        counter("proxy.cache.requests", "Cache lookups by result (HIT, MISS, BYPASS)", "result",
                request.cacheStatus().toLowerCase(java.util.Locale.ROOT)).increment();
        ProxyException error = request.error();
        if (error instanceof RateLimitException limited && isThrottle(limited)) {
            counter("proxy.throttled", "Requests refused by a rate limit", "key", key, "reason",
                    limited.status() == 503 ? "capacity" : limited.type()).increment();
        }
        if (request.deadLettered()) {
            counter("proxy.dead.letters", "Requests that failed after all attempts (recorded in the dead-letter channel)",
                    "endpoint", endpoint).increment();
        }
    }

    /** Finished-request events could not be handed to the event route (it was missing or failing). */
    public void eventsDropped(int count) {
        counter("proxy.events.dropped", "Request events that could not be published").increment(count);
    }

    private void upstreamAttempts(List<Attempt> attempts, String endpoint) {
        String previous = null;
        for (Attempt a : attempts) {
            String result = a.status() == 0 ? "error" : a.status() == 429 ? "429" : (a.status() / 100) + "xx";
            timer("proxy.upstream.latency", "Upstream time until the response head, per attempt", LATENCY_BUCKETS,
                    "deployment", a.deployment(), "result", result).record(a.durationNanos(), TimeUnit.NANOSECONDS);
            if (previous != null) {
                counter("proxy.upstream.retries", "Upstream attempts after the first", "endpoint", endpoint).increment();
                if (!previous.equals(a.deployment())) {
                    counter("proxy.upstream.failovers", "Retries that went to another deployment", "deployment",
                            a.deployment()).increment();
                }
            }
            previous = a.deployment();
        }
    }

    private void session(SessionStats session, String endpoint) {
        timer("proxy.websocket.session.duration", "WebSocket sessions, from the upgrade to the close", LATENCY_BUCKETS,
                "endpoint", endpoint).record(session.durationMillis(), TimeUnit.MILLISECONDS);
        counter("proxy.websocket.frames", "WebSocket frames relayed", "direction", "to_upstream")
                .increment(session.framesToUpstream());
        counter("proxy.websocket.frames", "WebSocket frames relayed", "direction", "to_client")
                .increment(session.framesToClient());
        counter("proxy.websocket.bytes", "WebSocket payload bytes relayed", "direction", "to_upstream")
                .increment(session.bytesToUpstream());
        counter("proxy.websocket.bytes", "WebSocket payload bytes relayed", "direction", "to_client")
                .increment(session.bytesToClient());
    }

    /**
     * Before the first upstream attempt (pipeline) plus between the upstream's head and the relay
     * starting; for answers without an upstream (cache hit, refusal), the whole request.
     */
    static long addedNanos(ProxyRequest request, long endNanos) {
        if (request.firstAttemptNanos() == 0) {
            return endNanos - request.startNanos();
        }
        if (request.upstreamHeadNanos() == 0 || request.relayStartNanos() == 0) {
            return -1; // failed upstream: nothing meaningful to attribute
        }
        return (request.firstAttemptNanos() - request.startNanos())
                + Math.max(0, request.relayStartNanos() - request.upstreamHeadNanos());
    }

    private static boolean isThrottle(RateLimitException e) {
        return "rate_limit_exceeded".equals(e.code()) || "proxy_at_capacity".equals(e.code());
    }

    private Counter counter(String name, String description, String... tags) {
        List<String> id = id(name, tags);
        Counter c = counters.get(id);
        return c != null ? c : counters.computeIfAbsent(id, k ->
                Counter.builder(name).description(description).tags(tags).register(registry));
    }

    private Timer timer(String name, String description, Duration[] buckets, String... tags) {
        List<String> id = id(name, tags);
        Timer t = timers.get(id);
        return t != null ? t : timers.computeIfAbsent(id, k ->
                Timer.builder(name).description(description).tags(tags).serviceLevelObjectives(buckets)
                        .register(registry));
    }

    private static List<String> id(String name, String[] tags) {
        String[] all = new String[tags.length + 1];
        all[0] = name;
        System.arraycopy(tags, 0, all, 1, tags.length);
        return List.of(all);
    }

    private static Duration[] durations(long... millis) {
        Duration[] d = new Duration[millis.length];
        for (int i = 0; i < millis.length; i++) {
            d[i] = Duration.ofMillis(millis[i]);
        }
        return d;
    }
}
