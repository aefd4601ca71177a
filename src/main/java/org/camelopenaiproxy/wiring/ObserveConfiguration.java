package org.camelopenaiproxy.wiring;

import java.nio.file.Path;
import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.PropertyInject;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.config.WatchedFile;
import org.camelopenaiproxy.observe.DiagnosticMode;
import org.camelopenaiproxy.observe.Diagnostics;
import org.camelopenaiproxy.observe.ModelLabels;
import org.camelopenaiproxy.observe.ProxyMetrics;
import org.camelopenaiproxy.observe.RequestEventLines;
import org.camelopenaiproxy.observe.RequestEventMessage;
import org.camelopenaiproxy.observe.RequestObserver;
import org.camelopenaiproxy.upstream.Deployment;

/** Seeing what the proxy does: the proxy's metrics, the request observer and its events, diagnostic mode. */
public class ObserveConfiguration implements CamelConfiguration {

    @BindToRegistry
    public ProxyMetrics proxyMetrics(@BeanInject(MicrometerConstants.METRICS_REGISTRY_NAME) MeterRegistry meters,
            @PropertyInject("proxy.metrics.max-models") int maxModels) {
        return new ProxyMetrics(meters, new ModelLabels(maxModels));
    }

    /** Uses the metrics of this class, so it is made on first use (by the listener). */
    @BindToRegistry(lazy = true)
    public RequestObserver requestObserver(CamelContext context, @BeanInject("vertx") Vertx vertx,
            @BeanInject("proxyMetrics") ProxyMetrics metrics,
            @PropertyInject("proxy.events.uri") String eventsUri,
            @PropertyInject("proxy.events.batch-ms") long batchMillis,
            @PropertyInject("proxy.events.batch-max") int batchMax) {
        return new RequestObserver(context, vertx, eventsUri, metrics, batchMillis, batchMax);
    }

    @BindToRegistry
    public RequestEventMessage requestEvent() {
        return new RequestEventMessage();
    }

    @BindToRegistry
    public RequestEventLines requestEventLines() {
        return new RequestEventLines();
    }

    @BindToRegistry
    public DiagnosticMode diagnosticMode(@BeanInject("configWatcher") ConfigWatcher watcher,
            @BeanInject("upstreamDeployments") WatchedFile<List<Deployment>> upstreams,
            @PropertyInject("proxy.diagnostics.file") String diagnosticsFile) throws Exception {
        WatchedFile<Diagnostics> diagnostics = watcher.watch(new WatchedFile<>(Path.of(diagnosticsFile), Diagnostics::parse));
        return new DiagnosticMode(diagnostics::get, () -> upstreams.get().stream().map(d -> d.target().apiKey()).toList());
    }
}
