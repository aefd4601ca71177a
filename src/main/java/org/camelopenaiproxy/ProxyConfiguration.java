package org.camelopenaiproxy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.WebSocketClientOptions;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.PropertyInject;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.SimpleEventNotifierSupport;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.camel.spi.CamelEvent;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.util.concurrent.SynchronousExecutorService;
import org.camelopenaiproxy.auth.ApiKeyAuthenticator;
import org.camelopenaiproxy.auth.ClientAddress;
import org.camelopenaiproxy.auth.IpAllowList;
import org.camelopenaiproxy.observe.DiagnosticMode;
import org.camelopenaiproxy.observe.Diagnostics;
import org.camelopenaiproxy.observe.ModelLabels;
import org.camelopenaiproxy.observe.ProxyMetrics;
import org.camelopenaiproxy.observe.RequestEventLines;
import org.camelopenaiproxy.observe.RequestEventMessage;
import org.camelopenaiproxy.observe.RequestObserver;
import org.camelopenaiproxy.observe.UpstreamsHealthCheck;
import org.camelopenaiproxy.usage.StreamUsageRequest;
import org.camelopenaiproxy.auth.ClientKeyStore;
import org.camelopenaiproxy.auth.KeysFile;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.config.WatchedFile;
import org.camelopenaiproxy.errors.ErrorRoutes;
import org.camelopenaiproxy.errors.UpstreamErrorRedactor;
import org.camelopenaiproxy.errors.OpenAiErrorResponder;
import org.apache.camel.component.platform.http.main.ManagementHttpServer;
import org.camelopenaiproxy.http.ConnectionGuard;
import org.camelopenaiproxy.http.CorsPolicy;
import org.camelopenaiproxy.http.EdgeGuard;
import org.camelopenaiproxy.http.ListenerSettings;
import org.camelopenaiproxy.http.ProxyEntry;
import org.camelopenaiproxy.http.ProxyServer;
import org.camelopenaiproxy.http.ReloadGate;
import org.camelopenaiproxy.http.BodyLimits;
import org.camelopenaiproxy.http.BufferBudget;
import org.camelopenaiproxy.http.RequestBodyReader;
import org.camelopenaiproxy.http.ResponseWriter;
import org.camelopenaiproxy.http.ShutdownDrain;
import org.camelopenaiproxy.http.UnreadBody;
import org.camelopenaiproxy.limits.KeyRateLimiter;
import org.camelopenaiproxy.limits.Limits;
import org.camelopenaiproxy.limits.LocalRateLimitStore;
import org.camelopenaiproxy.policy.AccessPolicy;
import org.camelopenaiproxy.policy.RequestInspector;
import org.camelopenaiproxy.reload.SafeRouteReloadStrategy;
import org.camelopenaiproxy.stream.ActiveRelays;
import org.camelopenaiproxy.stream.ResponseRelay;
import com.github.benmanes.caffeine.cache.Ticker;
import org.camelopenaiproxy.cache.CaffeineIdempotentRepository;
import org.camelopenaiproxy.cache.IdempotencyKeys;
import org.camelopenaiproxy.cache.ResponseStore;
import org.camelopenaiproxy.limits.RateLimitStore;
import org.camelopenaiproxy.cache.CaffeineResponseStore;
import org.camelopenaiproxy.cache.IdempotencyGuard;
import org.camelopenaiproxy.cache.IdempotencyKey;
import org.camelopenaiproxy.cache.ResponseCache;
import org.camelopenaiproxy.cache.StoredResponse;
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.deadletter.DeadLetterQueue;
import org.camelopenaiproxy.deadletter.DeadLetterRecord;
import org.camelopenaiproxy.deadletter.ExhaustedResponder;
import org.camelopenaiproxy.deadletter.UpstreamRoutes;
import org.camelopenaiproxy.realtime.RealtimeConnect;
import org.camelopenaiproxy.realtime.RealtimeEntry;
import org.camelopenaiproxy.realtime.RealtimeInspector;
import org.camelopenaiproxy.realtime.WebSocketRelay;
import org.camelopenaiproxy.upstream.CircuitBreakers;
import org.camelopenaiproxy.upstream.EgressProxy;
import org.camelopenaiproxy.upstream.HostOverrides;
import org.camelopenaiproxy.upstream.UpstreamClients;
import org.camelopenaiproxy.upstream.Deployment;
import org.camelopenaiproxy.upstream.RetryBudget;
import org.camelopenaiproxy.upstream.RetryPolicy;
import org.camelopenaiproxy.upstream.Timeouts;
import org.camelopenaiproxy.upstream.UpstreamSelector;
import org.camelopenaiproxy.upstream.UpstreamsFile;
import org.camelopenaiproxy.upstream.UpstreamCall;
import org.camelopenaiproxy.upstream.UpstreamTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the proxy: the beans the YAML pipeline refers to by name ({@code apiKeyAuthenticator},
 * {@code requestBodyReader}, {@code upstreamCall}, {@code openAiErrorResponder}), the Vert.x instance
 * platform-http serves on (and the upstream client uses), the HTTP entry, config-file watching and
 * safe route reloading. Every tunable comes from a {@code proxy.*} property.
 */
public class ProxyConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyConfiguration.class);

    /**
     * Names of the stores (and the clock they read): a bean bound under one of these names before
     * this configuration runs (another configuration class, e.g. a shared store) replaces the
     * embedded one.
     */
    public static final String RATE_LIMIT_STORE = "rateLimitStore";
    public static final String RESPONSE_CACHE_STORE = "responseCacheStore";
    public static final String IDEMPOTENCY_STORE = "idempotencyStore";
    public static final String IDEMPOTENCY_KEYS = "idempotencyRepository";
    public static final String TICKER = "proxyTicker";

    @PropertyInject("proxy.port")
    int port;
    @PropertyInject("proxy.host")
    String host;
    @PropertyInject("proxy.server.instances")
    int serverInstances;
    @PropertyInject("proxy.management.port")
    int managementPort;
    @PropertyInject(value = "proxy.tls.keystore", defaultValue = "")
    String tlsKeystore;
    @PropertyInject(value = "proxy.tls.keystore-password", defaultValue = "")
    String tlsKeystorePassword;
    @PropertyInject(value = "proxy.tls.cert-file", defaultValue = "")
    String tlsCertFile;
    @PropertyInject(value = "proxy.tls.key-file", defaultValue = "")
    String tlsKeyFile;
    @PropertyInject(value = "proxy.tls.client-auth", defaultValue = "none")
    String tlsClientAuth;
    @PropertyInject(value = "proxy.tls.trust-file", defaultValue = "")
    String tlsTrustFile;
    @PropertyInject(value = "proxy.tls.trust-password", defaultValue = "")
    String tlsTrustPassword;
    @PropertyInject("proxy.tls.http2")
    boolean tlsHttp2;
    @PropertyInject("proxy.http2.cleartext")
    boolean h2c;
    @PropertyInject("proxy.limits.max-header-bytes")
    int maxHeaderBytes;
    @PropertyInject("proxy.limits.max-headers")
    int maxHeaders;
    @PropertyInject("proxy.limits.max-request-line-bytes")
    int maxInitialLineBytes;
    @PropertyInject("proxy.limits.max-connections")
    int maxConnections;
    @PropertyInject("proxy.limits.max-connections-per-ip")
    int maxConnectionsPerIp;
    @PropertyInject("proxy.limits.read-timeout-ms")
    long readTimeoutMillis;
    @PropertyInject(value = "proxy.cors.allowed-origins", defaultValue = "")
    String corsOrigins;
    @PropertyInject("proxy.cors.allowed-methods")
    String corsMethods;
    @PropertyInject("proxy.cors.allowed-headers")
    String corsHeaders;
    @PropertyInject("proxy.cors.max-age-seconds")
    long corsMaxAge;
    @PropertyInject("proxy.cors.allow-credentials")
    boolean corsCredentials;
    @PropertyInject("proxy.keys.file")
    String keysFile;
    @PropertyInject("proxy.upstream.base-url")
    String upstreamBaseUrl;
    @PropertyInject("proxy.upstream.api-key")
    String upstreamApiKey;
    @PropertyInject("proxy.upstream.max-connections")
    int upstreamMaxConnections;
    @PropertyInject("proxy.max-request-bytes")
    long maxRequestBytes;
    @PropertyInject("proxy.request-buffer-bytes")
    long requestBufferBytes;
    @PropertyInject("proxy.limits.max-json-bytes")
    long maxJsonBytes;
    @PropertyInject("proxy.limits.max-audio-bytes")
    long maxAudioBytes;
    @PropertyInject("proxy.limits.max-file-bytes")
    long maxFileBytes;
    @PropertyInject("proxy.limits.max-upload-part-bytes")
    long maxUploadPartBytes;
    @PropertyInject("proxy.limits.max-buffered-bytes")
    long maxBufferedBytes;
    @PropertyInject("proxy.timeout.connect-ms")
    long connectTimeout;
    @PropertyInject("proxy.timeout.first-byte-ms")
    long firstByteTimeout;
    @PropertyInject("proxy.timeout.idle-ms")
    long idleTimeout;
    @PropertyInject("proxy.timeout.total-ms")
    long totalTimeout;
    @PropertyInject("proxy.routes.directory")
    String routesDirectory;
    @PropertyInject("proxy.routes.reload-enabled")
    boolean routesReloadEnabled;
    @PropertyInject("proxy.routes.drain-ms")
    long routesDrainMillis;
    @PropertyInject("proxy.config.poll-ms")
    long configPollMillis;
    @PropertyInject("proxy.pipeline.uri")
    String pipelineUri;
    @PropertyInject("proxy.event-loops")
    int eventLoops;
    @PropertyInject("proxy.limits.default.max-concurrent")
    int defaultMaxConcurrent;
    @PropertyInject("proxy.limits.default.requests-per-minute")
    long defaultRequestsPerMinute;
    @PropertyInject("proxy.limits.default.tokens-per-minute")
    long defaultTokensPerMinute;
    @PropertyInject("proxy.limits.default-completion-tokens")
    long defaultCompletionTokens;
    @PropertyInject("proxy.limits.max-in-flight")
    int maxInFlight;
    @PropertyInject("proxy.upstreams.file")
    String upstreamsFile;
    @PropertyInject("proxy.retry.max-attempts")
    int retryMaxAttempts;
    @PropertyInject("proxy.retry.initial-delay-ms")
    long retryInitialDelay;
    @PropertyInject("proxy.retry.max-delay-ms")
    long retryMaxDelay;
    @PropertyInject("proxy.retry.max-total-ms")
    long retryMaxTotal;
    @PropertyInject("proxy.retry.on-status")
    String retryOnStatus;
    @PropertyInject("proxy.circuit-breaker.failure-rate-percent")
    int breakerFailureRate;
    @PropertyInject("proxy.circuit-breaker.window")
    int breakerWindow;
    @PropertyInject("proxy.circuit-breaker.minimum-calls")
    int breakerMinimumCalls;
    @PropertyInject("proxy.circuit-breaker.open-ms")
    long breakerOpenMillis;
    @PropertyInject("proxy.circuit-breaker.half-open-calls")
    int breakerHalfOpenCalls;
    @PropertyInject("proxy.upstream.cooldown-ms")
    long cooldownMillis;
    @PropertyInject("proxy.upstream.max-cooldown-ms")
    long maxCooldownMillis;
    @PropertyInject("proxy.retry.budget-percent")
    int retryBudgetPercent;
    @PropertyInject("proxy.retry.budget-min-concurrent")
    int retryBudgetMinConcurrent;
    @PropertyInject("proxy.dead-letter.include-body")
    boolean deadLetterIncludeBody;
    @PropertyInject("proxy.cache.enabled")
    boolean cacheEnabled;
    @PropertyInject("proxy.cache.endpoints")
    String cacheEndpoints;
    @PropertyInject("proxy.cache.scope")
    String cacheScope;
    @PropertyInject("proxy.cache.ttl-ms")
    long cacheTtl;
    @PropertyInject("proxy.cache.max-bytes")
    long cacheMaxBytes;
    @PropertyInject("proxy.cache.max-entries")
    long cacheMaxEntries;
    @PropertyInject("proxy.cache.max-entry-bytes")
    long cacheMaxEntryBytes;
    @PropertyInject("proxy.idempotency.ttl-ms")
    long idempotencyTtl;
    @PropertyInject("proxy.idempotency.max-bytes")
    long idempotencyMaxBytes;
    @PropertyInject("proxy.idempotency.max-entries")
    long idempotencyMaxEntries;
    @PropertyInject("proxy.idempotency.in-flight")
    String idempotencyInFlight;
    @PropertyInject("proxy.idempotency.wait-ms")
    long idempotencyWaitMillis;
    @PropertyInject("proxy.events.uri")
    String eventsUri;
    @PropertyInject("proxy.events.batch-ms")
    long eventsBatchMillis;
    @PropertyInject("proxy.events.batch-max")
    int eventsBatchMax;
    @PropertyInject("proxy.metrics.max-models")
    int metricsMaxModels;
    @PropertyInject("proxy.diagnostics.file")
    String diagnosticsFile;
    @PropertyInject("proxy.usage.request-stream-usage")
    boolean requestStreamUsage;
    @PropertyInject("proxy.websocket.idle-ms")
    long webSocketIdleMillis;
    @PropertyInject("proxy.websocket.max-session-ms")
    long webSocketMaxSessionMillis;
    @PropertyInject("proxy.websocket.max-frame-bytes")
    int webSocketMaxFrameBytes;
    @PropertyInject("proxy.realtime.uri")
    String realtimeUri;
    @PropertyInject(value = "proxy.egress.url", defaultValue = "")
    String egressUrl;
    @PropertyInject("proxy.shutdown.drain-ms")
    long drainMillis;
    @PropertyInject(value = "proxy.trusted-proxies", defaultValue = "")
    String trustedProxies;

    @Override
    public void configure(CamelContext context) throws Exception {
        Registry registry = context.getRegistry();

        Map<String, String> hostOverrides = HostOverrides.read(Path.of(upstreamsFile));
        VertxOptions vertxOptions = new VertxOptions()
                .setEventLoopPoolSize(eventLoops > 0 ? eventLoops : VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE)
                .setPreferNativeTransport(true);
        if (!hostOverrides.isEmpty()) {
            vertxOptions.setAddressResolverOptions(HostOverrides.resolverOptions(hostOverrides));
        }
        Vertx vertx = Vertx.vertx(vertxOptions);
        registry.bind("vertx", vertx); // platform-http's server picks this instance up
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                vertx.close();
            }
        });
        UpstreamClients upstreamClients = new UpstreamClients(vertx,
                new HttpClientOptions()
                        .setKeepAlive(true)
                        .setKeepAliveTimeout(60)
                        .setDecompressionSupported(false)
                        .setForceSni(true)
                        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout)),
                new PoolOptions().setHttp1MaxSize(upstreamMaxConnections).setMaxWaitQueueSize(-1),
                new WebSocketClientOptions()
                        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout))
                        .setMaxConnections(upstreamMaxConnections)
                        .setMaxFrameSize(webSocketMaxFrameBytes)
                        .setMaxMessageSize(webSocketMaxFrameBytes),
                EgressProxy.parse(egressUrl), System.getenv());

        ConfigWatcher watcher = new ConfigWatcher(configPollMillis);
        context.addService(watcher);
        registry.bind("configWatcher", watcher);
        WatchedFile<org.camelopenaiproxy.auth.KeyTable> keys =
                watcher.watch(new WatchedFile<>(Path.of(keysFile), KeysFile::parse));
        ClientKeyStore keyStore = new ClientKeyStore(keys);
        if (keyStore.size() == 0) {
            LOG.warn("No client keys in {}: every request gets 401. Create one with: "
                     + "bin/camel-openai-proxy keys add --name <name>", keysFile);
        }

        Deployment fallback = new Deployment("default", Deployment.Type.OPENAI,
                UpstreamTarget.fromBaseUrl("default", upstreamBaseUrl, upstreamApiKey), 1, 0, List.of(Glob.of("*")),
                null, Map.of());
        WatchedFile<List<Deployment>> upstreams = watcher.watch(new WatchedFile<>(Path.of(upstreamsFile),
                content -> HostOverrides.warnIfChanged(UpstreamsFile.parse(content, fallback, UpstreamsFile::secret),
                        hostOverrides)));
        for (Deployment d : upstreams.get()) {
            if (d.target().apiKey().isBlank()) {
                LOG.warn("Upstream {} has no key (OPENAI_API_KEY or its api_key_env is not set)", d);
            }
        }
        // the registry camel-micrometer serves at /observe/metrics (camel-main may have made it already)
        MeterRegistry meters = registry.lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
        if (meters == null) {
            meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            registry.bind(MicrometerConstants.METRICS_REGISTRY_NAME, meters);
        }
        new JvmMemoryMetrics().bindTo(meters);
        new JvmThreadMetrics().bindTo(meters);
        new ProcessorMetrics().bindTo(meters);
        new UptimeMetrics().bindTo(meters);
        JvmGcMetrics gcMetrics = new JvmGcMetrics();
        gcMetrics.bindTo(meters);
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                gcMetrics.close();
            }
        });
        ProxyMetrics metrics = new ProxyMetrics(meters, new ModelLabels(metricsMaxModels));
        WatchedFile<Diagnostics> diagnostics = watcher.watch(new WatchedFile<>(Path.of(diagnosticsFile), Diagnostics::parse));
        registry.bind("diagnosticMode", new DiagnosticMode(diagnostics::get,
                () -> upstreams.get().stream().map(d -> d.target().apiKey()).toList()));
        UpstreamErrorRedactor errorRedactor = new UpstreamErrorRedactor(
                () -> upstreams.get().stream().map(d -> d.target().apiKey()).toList());
        registry.bind("streamUsage", new StreamUsageRequest(requestStreamUsage));
        registry.bind("inlineExecutor", new SynchronousExecutorService()); // wireTaps into seda queues: no thread hop

        ReloadGate gate = new ReloadGate();
        Timeouts timeouts = new Timeouts(connectTimeout, firstByteTimeout, idleTimeout, totalTimeout);

        registry.bind("reloadGate", gate);
        registry.bind("clientKeyStore", keyStore);
        registry.bind("apiKeyAuthenticator", new ApiKeyAuthenticator(keyStore,
                new ClientAddress(IpAllowList.parse(trustedProxies))));
        registry.bind("endpointPolicy", (Processor) AccessPolicy::checkEndpoint);
        BufferBudget bufferBudget = new BufferBudget(maxBufferedBytes);
        registry.bind("bufferBudget", bufferBudget);
        registry.bind("requestBodyReader", new RequestBodyReader(vertx,
                new BodyLimits(maxRequestBytes, maxJsonBytes, maxAudioBytes, maxFileBytes, maxUploadPartBytes),
                requestBufferBytes, bufferBudget, readTimeoutMillis));
        RequestInspector requestInspector = new RequestInspector(keyStore::aliases);
        registry.bind("requestInspector", requestInspector);
        registry.bind("modelPolicy", (Processor) AccessPolicy::checkModel);
        Ticker ticker = existing(registry, TICKER, Ticker.class, Ticker::systemTicker);
        ResponseStore<StoredResponse> cacheStore = existing(registry, RESPONSE_CACHE_STORE, ResponseStore.class,
                () -> new CaffeineResponseStore<>(cacheMaxBytes, cacheMaxEntries, Duration.ofMillis(cacheTtl),
                        StoredResponse::weight, ticker));
        registry.bind("responseCache", new ResponseCache(cacheStore, cacheEnabled,
                Arrays.stream(cacheEndpoints.split(",")).map(String::trim).filter(x -> !x.isEmpty()).collect(Collectors.toSet()),
                "shared".equalsIgnoreCase(cacheScope.trim()), cacheMaxEntryBytes));
        IdempotencyKeys idempotencyKeys = existing(registry, IDEMPOTENCY_KEYS, IdempotencyKeys.class,
                () -> new CaffeineIdempotentRepository(idempotencyMaxEntries, Duration.ofMillis(idempotencyTtl), ticker));
        ResponseStore<IdempotencyGuard.Entry> idempotencyStore = existing(registry, IDEMPOTENCY_STORE,
                ResponseStore.class, () -> new CaffeineResponseStore<IdempotencyGuard.Entry>(idempotencyMaxBytes,
                        idempotencyMaxEntries, Duration.ofMillis(idempotencyTtl),
                        e -> e.answer() == null ? 128 : e.answer().weight(), ticker));
        registry.bind("idempotencyKey", new IdempotencyKey());
        registry.bind("idempotencyGuard", new IdempotencyGuard(idempotencyStore, idempotencyKeys, cacheMaxEntryBytes,
                vertx, "wait".equalsIgnoreCase(idempotencyInFlight.trim()) ? idempotencyWaitMillis : 0));
        Limits defaults = new Limits(defaultMaxConcurrent > 0 ? defaultMaxConcurrent : null,
                defaultRequestsPerMinute > 0 ? defaultRequestsPerMinute : null,
                defaultTokensPerMinute > 0 ? defaultTokensPerMinute : null);
        registry.bind("throttle", new KeyRateLimiter(existing(registry, RATE_LIMIT_STORE, RateLimitStore.class,
                LocalRateLimitStore::new), defaults, maxInFlight, defaultCompletionTokens));
        CircuitBreakers breakers = new CircuitBreakers(breakerFailureRate, breakerWindow, breakerMinimumCalls,
                Duration.ofMillis(breakerOpenMillis), breakerHalfOpenCalls, cooldownMillis, maxCooldownMillis,
                java.time.Clock.systemUTC());
        UpstreamSelector selector = new UpstreamSelector(upstreams::get, breakers);
        RetryPolicy retryPolicy = new RetryPolicy(retryMaxAttempts, retryMaxDelay, retryMaxTotal,
                Arrays.stream(retryOnStatus.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                        .map(Integer::valueOf).collect(Collectors.toSet()),
                new RetryBudget(retryBudgetPercent, retryBudgetMinConcurrent), selector);
        registry.bind("circuitBreakers", breakers);
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers.registry()).bindTo(meters);
        registry.bind("upstreams-health-check", new UpstreamsHealthCheck(upstreams::get, breakers));
        registry.bind("upstreamCall", new UpstreamCall(upstreamClients, selector, retryPolicy, timeouts, gate,
                errorRedactor));
        registry.bind("realtimeInspector", new RealtimeInspector(requestInspector));
        registry.bind("realtimeConnect", new RealtimeConnect(upstreamClients, selector, retryPolicy, timeouts, gate,
                retryMaxAttempts, errorRedactor));
        DeadLetterRecord deadLetterRecord = new DeadLetterRecord(deadLetterIncludeBody, errorRedactor);
        registry.bind("deadLetterRecord", deadLetterRecord);
        registry.bind("exhaustedResponder", new ExhaustedResponder());
        context.addRoutes(new UpstreamRoutes(retryPolicy, retryMaxAttempts, retryInitialDelay, retryMaxDelay));
        registry.bind("openAiErrorResponder", new OpenAiErrorResponder());

        context.addRoutes(new ErrorRoutes());
        if (routesReloadEnabled) {
            SafeRouteReloadStrategy reloader = new SafeRouteReloadStrategy(routesDirectory, gate, routesDrainMillis);
            context.addService(reloader);
            registry.bind("routeReloader", reloader);
        }

        RequestObserver observer = new RequestObserver(context, vertx, eventsUri, metrics, eventsBatchMillis, eventsBatchMax);
        registry.bind("requestEvent", new RequestEventMessage());
        registry.bind("requestEventLines", new RequestEventLines());
        ActiveRelays activeRelays = new ActiveRelays();
        DeadLetterQueue deadLetterQueue = new DeadLetterQueue(context,
                "seda:dead-letter?size={{proxy.dead-letter.queue-size}}&blockWhenFull=false", deadLetterRecord);
        ResponseWriter responseWriter = new ResponseWriter(new ResponseRelay(vertx, timeouts, errorRedactor,
                deadLetterQueue, activeRelays),
                new UnreadBody(vertx, Math.min(requestBufferBytes, maxRequestBytes), readTimeoutMillis));
        ProxyEntry entry = new ProxyEntry(context, pipelineUri, gate, responseWriter, observer);
        registry.bind("proxyEntry", entry);
        RealtimeEntry realtimeEntry = new RealtimeEntry(context, realtimeUri, gate, responseWriter,
                new WebSocketRelay(vertx, webSocketIdleMillis, webSocketMaxSessionMillis), observer);
        registry.bind("realtimeEntry", realtimeEntry);
        ConnectionGuard connections = new ConnectionGuard(vertx, maxConnections, maxConnectionsPerIp, readTimeoutMillis);
        EdgeGuard guard = new EdgeGuard(connections, new CorsPolicy(corsOrigins, corsMethods, corsHeaders, corsMaxAge,
                corsCredentials), maxHeaders, responseWriter);
        ListenerSettings listener = new ListenerSettings(host, port, serverInstances,
                new ListenerSettings.Tls(tlsKeystore, tlsKeystorePassword, tlsCertFile, tlsKeyFile, tlsClientAuth,
                        tlsTrustFile, tlsTrustPassword, tlsHttp2), h2c, maxHeaderBytes, maxInitialLineBytes,
                webSocketMaxFrameBytes);
        listener.toServerOptions(); // a TLS setting that cannot work fails the start here, with its property name
        ProxyServer server = new ProxyServer(vertx, listener, connections, guard, realtimeEntry, entry,
                managementPort == 0 ? () -> {
                    ManagementHttpServer management = context.hasService(ManagementHttpServer.class);
                    return management == null ? null : management.getRouter();
                } : null);
        registry.bind("proxyServer", server);
        ShutdownDrain drain = new ShutdownDrain(drainMillis, observer::inFlight, activeRelays);
        server.drainWith(drain);
        registry.bind("draining-health-check", drain);
        registry.bind("connectionGuard", connections);
        context.getManagementStrategy().addEventNotifier(new SimpleEventNotifierSupport() {
            @Override
            public void notify(CamelEvent event) throws Exception {
                if (event instanceof CamelEvent.CamelContextStartedEvent) {
                    server.start(); // the routes are up: open the API listener
                } else if (event instanceof CamelEvent.CamelContextStoppingEvent) {
                    drain.drain(); // not ready, new requests refused, those in flight finish (or end with an error event)
                    server.stop();
                    observer.flush(); // the sink routes then drain their queues before they stop
                }
            }
        });
        LOG.info("Upstreams: {}; egress proxy: {}; Vert.x native transport: {}", upstreams.get(),
                upstreamClients.describeDefaultEgress(), vertx.isNativeTransportEnabled());
    }

    /**
     * The bean {@code name} if one is bound already (a shared store, or a test's clock), else the
     * embedded one {@code made}, bound under that name.
     */
    @SuppressWarnings("unchecked")
    private static <T> T existing(Registry registry, String name, Class<? super T> type, java.util.function.Supplier<T> made) {
        Object bound = registry.lookupByNameAndType(name, type);
        if (bound != null) {
            LOG.info("Using the bound {} '{}'", type.getSimpleName(), name);
            return (T) bound;
        }
        T value = made.get();
        registry.bind(name, value);
        return value;
    }
}
