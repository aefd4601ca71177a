package org.camelopenaiproxy.observe;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Micrometer's JVM and process meters (memory, threads, GC, CPU, uptime) in the registry served at
 * {@code /observe/metrics}, bound on a thread of their own once the API listener is open. Binding
 * them starts the JVM's management beans: about 30 ms of the main thread at launch, spent before
 * the first answer when it was done with the registry (bench/README.md, "Seventh pass"). Nothing the
 * proxy answers depends on them, and they are in the registry some milliseconds after the listener
 * opens, well within any scrape interval.
 */
public final class JvmMetrics extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(JvmMetrics.class);

    private final MeterRegistry meters;
    /** Guarded by {@code this}: set once bound, closed (its GC listeners removed) at stop. */
    private JvmGcMetrics gc;
    private boolean stopping;

    public JvmMetrics(MeterRegistry meters) {
        this.meters = meters;
    }

    /** Binds the meters on a new daemon thread; returns at once. */
    public void bindInBackground() {
        Thread thread = new Thread(this::bind, "proxy-jvm-metrics");
        thread.setDaemon(true);
        thread.start();
    }

    /** Binds the meters, once per start; nothing after the proxy began to stop. */
    public synchronized void bind() {
        if (stopping || gc != null) {
            return;
        }
        try {
            new JvmMemoryMetrics().bindTo(meters);
            new JvmThreadMetrics().bindTo(meters);
            new ProcessorMetrics().bindTo(meters);
            new UptimeMetrics().bindTo(meters);
            JvmGcMetrics gcMetrics = new JvmGcMetrics();
            gcMetrics.bindTo(meters);
            gc = gcMetrics;
        } catch (RuntimeException e) {
            LOG.warn("JVM metrics are not available: {}", e.toString());
        }
    }

    /** Whether all the meters are in the registry. */
    public synchronized boolean bound() {
        return gc != null;
    }

    @Override
    protected synchronized void doStart() {
        stopping = false;
    }

    @Override
    protected synchronized void doStop() {
        stopping = true;
        if (gc != null) {
            gc.close();
            gc = null;
        }
    }
}
