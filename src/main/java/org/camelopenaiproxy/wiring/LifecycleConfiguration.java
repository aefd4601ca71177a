package org.camelopenaiproxy.wiring;

import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.PropertyInject;
import org.apache.camel.StartupListener;
import org.apache.camel.support.LifecycleStrategySupport;
import org.camelopenaiproxy.inbound.ProxyServer;
import org.camelopenaiproxy.inbound.ShutdownDrain;
import org.camelopenaiproxy.observe.JvmMetrics;
import org.camelopenaiproxy.observe.RequestObserver;
import org.camelopenaiproxy.pipeline.StepFusion;
import org.camelopenaiproxy.reload.ReloadGate;
import org.camelopenaiproxy.reload.SafeRouteReloadStrategy;
import org.camelopenaiproxy.request.ActiveRelays;

/**
 * When the proxy serves: the listener opens once the routes are up, routes reload behind the gate,
 * and on stop the proxy drains (not ready, new requests refused, those in flight finish) before the
 * listener closes and the event sinks flush.
 */
public class LifecycleConfiguration implements CamelConfiguration {

    @PropertyInject("proxy.routes.fuse-steps")
    boolean fuseSteps;

    /** Reloads changed route files while requests wait at the gate; not bound when reloading is off. */
    @BindToRegistry
    public SafeRouteReloadStrategy routeReloader(CamelContext context, @BeanInject("reloadGate") ReloadGate gate,
            @PropertyInject("proxy.routes.reload-enabled") boolean enabled,
            @PropertyInject("proxy.routes.directory") String directory,
            @PropertyInject("proxy.routes.drain-ms") long drainMillis) throws Exception {
        if (!enabled) {
            return null;
        }
        SafeRouteReloadStrategy reloader = new SafeRouteReloadStrategy(directory, gate, drainMillis);
        context.addService(reloader);
        return reloader;
    }

    /** Also the readiness check that turns DOWN while draining. */
    @BindToRegistry("draining-health-check")
    public ShutdownDrain shutdownDrain(@BeanInject("requestObserver") RequestObserver observer,
            @BeanInject("activeRelays") ActiveRelays activeRelays,
            @PropertyInject("proxy.shutdown.drain-ms") long drainMillis) {
        return new ShutdownDrain(drainMillis, observer::inFlight, activeRelays);
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        ProxyServer server = context.getRegistry().lookupByNameAndType("proxyServer", ProxyServer.class);
        ShutdownDrain drain = context.getRegistry().lookupByNameAndType("draining-health-check", ShutdownDrain.class);
        RequestObserver observer = context.getRegistry().lookupByNameAndType("requestObserver", RequestObserver.class);
        JvmMetrics jvmMetrics = context.getRegistry().lookupByNameAndType(RuntimeConfiguration.JVM_METRICS, JvmMetrics.class);
        server.drainWith(drain);
        if (fuseSteps) {
            StepFusion.install(context); // before the routes are added, so at start and at every reload
        }
        // The listener opens once the routes are up. From a startup listener, a listener that cannot
        // open (the port is taken) fails the start, and the proxy exits with the reason, rather than
        // running on without its API port.
        context.addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext started, boolean alreadyStarted) {
                // not yet: the routes start after this
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext started, boolean alreadyStarted) {
                ExchangeEventsOff.apply(started);
                server.start();
                if (jvmMetrics != null) {
                    jvmMetrics.bindInBackground(); // off the launch's path to its first answer
                }
            }
        });
        // A lifecycle strategy, not an event notifier: with any event notifier started, Camel checks
        // it for an event per exchange and step (bench/README.md, "Second pass").
        context.addLifecycleStrategy(new LifecycleStrategySupport() {
            @Override
            public void onContextStopping(CamelContext stopping) {
                try {
                    drain.drain(); // not ready, new requests refused, those in flight finish (or end with an error event)
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // stop at once: what is still open is cut
                }
                server.stop();
                observer.flush(); // the sink routes then drain their queues before they stop
            }
        });
    }
}
