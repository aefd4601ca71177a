package org.camelopenaiproxy.wiring;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.WebSocketClientOptions;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.PropertyInject;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.config.WatchedFile;
import org.camelopenaiproxy.observe.UpstreamErrorRedactor;
import org.camelopenaiproxy.realtime.RealtimeConnect;
import org.camelopenaiproxy.reload.ReloadGate;
import org.camelopenaiproxy.upstream.CircuitBreakers;
import org.camelopenaiproxy.upstream.DeadLetterQueue;
import org.camelopenaiproxy.upstream.DeadLetterRecord;
import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.EgressProxy;
import org.camelopenaiproxy.upstream.ExhaustedResponder;
import org.camelopenaiproxy.upstream.HostOverrides;
import org.camelopenaiproxy.upstream.RetryBudget;
import org.camelopenaiproxy.upstream.RetryPolicy;
import org.camelopenaiproxy.upstream.Timeouts;
import org.camelopenaiproxy.upstream.UpstreamCall;
import org.camelopenaiproxy.upstream.UpstreamClients;
import org.camelopenaiproxy.upstream.UpstreamRoutes;
import org.camelopenaiproxy.upstream.UpstreamSelector;
import org.camelopenaiproxy.upstream.UpstreamTarget;
import org.camelopenaiproxy.upstream.UpstreamsFile;
import org.camelopenaiproxy.upstream.UpstreamsHealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calling the upstreams: the deployments (from the watched upstreams file), the HTTP and WebSocket
 * clients, the circuit breakers, the selector, the retry policy and budget, the calls
 * ({@code upstreamCall}, {@code realtimeConnect}), the {@code upstream} route and the dead letters.
 */
public class UpstreamConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamConfiguration.class);

    @PropertyInject("proxy.retry.max-attempts")
    int retryMaxAttempts;
    @PropertyInject("proxy.retry.initial-delay-ms")
    long retryInitialDelay;
    @PropertyInject("proxy.retry.max-delay-ms")
    long retryMaxDelay;

    @BindToRegistry
    public WatchedFile<List<Deployment>> upstreamDeployments(@BeanInject("configWatcher") ConfigWatcher watcher,
            @PropertyInject("proxy.upstreams.file") String upstreamsFile,
            @PropertyInject("proxy.upstream.base-url") String baseUrl,
            @PropertyInject("proxy.upstream.api-key") String apiKey) throws Exception {
        Map<String, String> hostOverrides = HostOverrides.read(Path.of(upstreamsFile)); // as Vert.x resolves them
        Deployment fallback = new Deployment("default", Deployment.Type.OPENAI,
                UpstreamTarget.fromBaseUrl("default", baseUrl, apiKey), 1, 0, List.of(Glob.of("*")), null, Map.of());
        WatchedFile<List<Deployment>> upstreams = watcher.watch(new WatchedFile<>(Path.of(upstreamsFile),
                content -> HostOverrides.warnIfChanged(UpstreamsFile.parse(content, fallback, UpstreamsFile::secret),
                        hostOverrides)));
        for (Deployment d : upstreams.get()) {
            if (d.target().apiKey().isBlank()) {
                LOG.warn("Upstream {} has no key (OPENAI_API_KEY or its api_key_env is not set)", d);
            }
        }
        return upstreams;
    }

    @BindToRegistry
    public UpstreamClients upstreamClients(@BeanInject("vertx") Vertx vertx,
            @PropertyInject("proxy.timeout.connect-ms") long connectTimeout,
            @PropertyInject("proxy.upstream.max-connections") int maxConnections,
            @PropertyInject("proxy.websocket.max-frame-bytes") int maxFrameBytes,
            @PropertyInject("proxy.egress.url") String egressUrl) {
        int connectMillis = (int) Math.min(Integer.MAX_VALUE, connectTimeout);
        return new UpstreamClients(vertx,
                new HttpClientOptions()
                        .setKeepAlive(true)
                        .setKeepAliveTimeout(60)
                        .setDecompressionSupported(false)
                        .setForceSni(true)
                        .setConnectTimeout(connectMillis),
                new PoolOptions().setHttp1MaxSize(maxConnections).setMaxWaitQueueSize(-1),
                new WebSocketClientOptions()
                        .setConnectTimeout(connectMillis)
                        .setMaxConnections(maxConnections)
                        .setMaxFrameSize(maxFrameBytes)
                        .setMaxMessageSize(maxFrameBytes),
                EgressProxy.parse(egressUrl), System.getenv());
    }

    @BindToRegistry
    public Timeouts upstreamTimeouts(@PropertyInject("proxy.timeout.connect-ms") long connect,
                                     @PropertyInject("proxy.timeout.first-byte-ms") long firstByte,
                                     @PropertyInject("proxy.timeout.idle-ms") long idle,
                                     @PropertyInject("proxy.timeout.total-ms") long total) {
        return new Timeouts(connect, firstByte, idle, total);
    }

    @BindToRegistry
    public CircuitBreakers circuitBreakers(
            @BeanInject(MicrometerConstants.METRICS_REGISTRY_NAME) MeterRegistry meters,
            @PropertyInject("proxy.circuit-breaker.failure-rate-percent") int failureRate,
            @PropertyInject("proxy.circuit-breaker.window") int window,
            @PropertyInject("proxy.circuit-breaker.minimum-calls") int minimumCalls,
            @PropertyInject("proxy.circuit-breaker.open-ms") long openMillis,
            @PropertyInject("proxy.circuit-breaker.half-open-calls") int halfOpenCalls,
            @PropertyInject("proxy.upstream.cooldown-ms") long cooldownMillis,
            @PropertyInject("proxy.upstream.max-cooldown-ms") long maxCooldownMillis) {
        CircuitBreakers breakers = new CircuitBreakers(failureRate, window, minimumCalls, Duration.ofMillis(openMillis),
                halfOpenCalls, cooldownMillis, maxCooldownMillis, Clock.systemUTC());
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers.registry()).bindTo(meters);
        return breakers;
    }

    // The beans below use beans of this class, so they are made on first use (lazy): by the routes,
    // by the listener, or by configure().

    /** Masks the upstream keys in what an upstream answers. */
    @BindToRegistry(lazy = true)
    public UpstreamErrorRedactor upstreamErrorRedactor(
            @BeanInject("upstreamDeployments") WatchedFile<List<Deployment>> upstreams) {
        return new UpstreamErrorRedactor(() -> upstreams.get().stream().map(d -> d.target().apiKey()).toList());
    }

    @BindToRegistry(lazy = true)
    public UpstreamSelector upstreamSelector(
            @BeanInject("upstreamDeployments") WatchedFile<List<Deployment>> upstreams,
            @BeanInject("circuitBreakers") CircuitBreakers breakers) {
        return new UpstreamSelector(upstreams::get, breakers);
    }

    @BindToRegistry(lazy = true)
    public RetryPolicy retryPolicy(@BeanInject("upstreamSelector") UpstreamSelector selector,
            @PropertyInject("proxy.retry.max-attempts") int maxAttempts,
            @PropertyInject("proxy.retry.max-delay-ms") long maxDelay,
            @PropertyInject("proxy.retry.max-total-ms") long maxTotal,
            @PropertyInject("proxy.retry.on-status") String onStatus,
            @PropertyInject("proxy.retry.budget-percent") int budgetPercent,
            @PropertyInject("proxy.retry.budget-min-concurrent") int budgetMinConcurrent) {
        return new RetryPolicy(maxAttempts, maxDelay, maxTotal,
                Beans.items(onStatus).stream().map(Integer::valueOf).collect(Collectors.toSet()),
                new RetryBudget(budgetPercent, budgetMinConcurrent), selector);
    }

    @BindToRegistry(value = "upstreams-health-check", lazy = true)
    public UpstreamsHealthCheck upstreamsHealthCheck(
            @BeanInject("upstreamDeployments") WatchedFile<List<Deployment>> upstreams,
            @BeanInject("circuitBreakers") CircuitBreakers breakers) {
        return new UpstreamsHealthCheck(upstreams::get, breakers);
    }

    @BindToRegistry(lazy = true)
    public UpstreamCall upstreamCall(@BeanInject("upstreamClients") UpstreamClients clients,
            @BeanInject("upstreamSelector") UpstreamSelector selector,
            @BeanInject("retryPolicy") RetryPolicy retryPolicy,
            @BeanInject("upstreamTimeouts") Timeouts timeouts,
            @BeanInject("reloadGate") ReloadGate gate,
            @BeanInject("upstreamErrorRedactor") UpstreamErrorRedactor redactor) {
        return new UpstreamCall(clients, selector, retryPolicy, timeouts, gate, redactor);
    }

    @BindToRegistry(lazy = true)
    public RealtimeConnect realtimeConnect(@BeanInject("upstreamClients") UpstreamClients clients,
            @BeanInject("upstreamSelector") UpstreamSelector selector,
            @BeanInject("retryPolicy") RetryPolicy retryPolicy,
            @BeanInject("upstreamTimeouts") Timeouts timeouts,
            @BeanInject("reloadGate") ReloadGate gate,
            @BeanInject("upstreamErrorRedactor") UpstreamErrorRedactor redactor,
            @PropertyInject("proxy.retry.max-attempts") int maxAttempts) {
        return new RealtimeConnect(clients, selector, retryPolicy, timeouts, gate, maxAttempts, redactor);
    }

    @BindToRegistry(lazy = true)
    public DeadLetterRecord deadLetterRecord(@BeanInject("upstreamErrorRedactor") UpstreamErrorRedactor redactor,
            @PropertyInject("proxy.dead-letter.include-body") boolean includeBody) {
        return new DeadLetterRecord(includeBody, redactor);
    }

    /** Where a relay that failed part-way (after the answer started) records it. */
    @BindToRegistry(lazy = true)
    public DeadLetterQueue deadLetterQueue(CamelContext context,
            @BeanInject("deadLetterRecord") DeadLetterRecord record) {
        return new DeadLetterQueue(context,
                "seda:dead-letter?size={{proxy.dead-letter.queue-size}}&blockWhenFull=false", record);
    }

    @BindToRegistry
    public ExhaustedResponder exhaustedResponder() {
        return new ExhaustedResponder();
    }

    /** Adds the {@code upstream} route (attempts, back-off, dead letter) and logs where requests go. */
    @Override
    public void configure(CamelContext context) throws Exception {
        var registry = context.getRegistry();
        context.addRoutes(new UpstreamRoutes(registry.lookupByNameAndType("retryPolicy", RetryPolicy.class),
                retryMaxAttempts, retryInitialDelay, retryMaxDelay));
        LOG.info("Upstreams: {}; egress proxy: {}; Vert.x native transport: {}",
                registry.lookupByNameAndType("upstreamDeployments", WatchedFile.class).get(),
                registry.lookupByNameAndType("upstreamClients", UpstreamClients.class).describeDefaultEgress(),
                registry.lookupByNameAndType("vertx", Vertx.class).isNativeTransportEnabled());
    }
}
