package org.camelopenaiproxy.wiring;

import java.nio.file.Path;
import java.util.Map;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.PropertyInject;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.LifecycleStrategySupport;
import org.apache.camel.util.concurrent.SynchronousExecutorService;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.observe.JvmMetrics;
import org.camelopenaiproxy.reload.ReloadGate;
import org.camelopenaiproxy.upstream.HostOverrides;

/**
 * What every capability builds on: the Vert.x instance (platform-http serves on it, the upstream
 * clients use it), the clock the stores read, the meter registry, the config-file watcher and the
 * gate that holds requests while routes reload.
 */
public class RuntimeConfiguration implements CamelConfiguration {

    /** A {@link Ticker} bound under this name before the proxy's configurations run replaces the system clock. */
    public static final String TICKER = "proxyTicker";
    /** The {@link JvmMetrics} that {@link LifecycleConfiguration} binds once the listener is open. */
    public static final String JVM_METRICS = "jvmMetrics";

    @BindToRegistry
    public Vertx vertx(CamelContext context, @PropertyInject("proxy.event-loops") int eventLoops,
                       @PropertyInject("proxy.upstreams.file") String upstreamsFile) throws Exception {
        VertxOptions options = new VertxOptions()
                .setEventLoopPoolSize(eventLoops > 0 ? eventLoops : VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE)
                .setPreferNativeTransport(true)
                // The proxy serves no files from the class path, and names its key and certificate files by
                // path. Without class-path resolving Vert.x makes no vertx-cache-<uuid> directory in /tmp at
                // every start (and leaves none behind when killed): seeding the random UUID alone took about
                // 7 ms of the launch (bench/README.md, "Seventh pass").
                .setFileSystemOptions(new FileSystemOptions().setClassPathResolvingEnabled(false));
        Map<String, String> hostOverrides = HostOverrides.read(Path.of(upstreamsFile));
        if (!hostOverrides.isEmpty()) {
            options.setAddressResolverOptions(HostOverrides.resolverOptions(hostOverrides));
        }
        Vertx vertx = Vertx.vertx(options);
        // Closed once the context has stopped everything else, not as one of its services: those stop
        // in the reverse order they were added, and platform-http's server (the management endpoints)
        // would otherwise close on an instance already closing, its close then rejected by a
        // terminated event loop (a warning with a stack trace, on a start that failed, say).
        context.addLifecycleStrategy(new LifecycleStrategySupport() {
            @Override
            public void onContextStopped(CamelContext stopped) {
                vertx.close();
            }
        });
        return vertx; // platform-http's server picks this instance up
    }

    @BindToRegistry(TICKER)
    public Ticker proxyTicker(Registry registry) {
        return Beans.boundOr(registry, TICKER, Ticker.class, Ticker::systemTicker);
    }

    /**
     * The registry camel-micrometer serves at /observe/metrics (camel-main may have made it already).
     * The JVM's own meters join it once the listener is open ({@link JvmMetrics}, bound as "jvmMetrics").
     */
    @BindToRegistry(MicrometerConstants.METRICS_REGISTRY_NAME)
    public MeterRegistry metricsRegistry(CamelContext context) throws Exception {
        MeterRegistry meters = context.getRegistry()
                .lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
        if (meters == null) {
            meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        }
        JvmMetrics jvm = new JvmMetrics(meters);
        context.addService(jvm);
        context.getRegistry().bind(JVM_METRICS, jvm);
        return meters;
    }

    @BindToRegistry
    public ConfigWatcher configWatcher(CamelContext context, @PropertyInject("proxy.config.poll-ms") long pollMillis)
            throws Exception {
        ConfigWatcher watcher = new ConfigWatcher(pollMillis);
        context.addService(watcher);
        return watcher;
    }

    @BindToRegistry
    public ReloadGate reloadGate() {
        return new ReloadGate();
    }

    /** For wireTaps into seda queues: no thread hop. */
    @BindToRegistry
    public SynchronousExecutorService inlineExecutor() {
        return new SynchronousExecutorService();
    }
}
