package org.camelopenaiproxy.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.vertx.core.Vertx;
import io.vertx.core.impl.VertxInternal;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.service.ServiceSupport;
import org.camelopenaiproxy.wiring.RuntimeConfiguration;
import org.junit.jupiter.api.Test;

/**
 * The proxy's Vert.x instance outlives every service of the Camel context: a service added before it
 * (platform-http's management server is one) still closes on an open instance. Closed as one of the
 * services, it was closed first (services stop in reverse order), and the management server's close
 * was then rejected by a terminated event loop: a warning with a stack trace on a failed start.
 */
class VertxLifecycleTest {

    @Test
    void vertx_closes_after_every_service_of_the_context_has_stopped() throws Exception {
        List<String> order = new CopyOnWriteArrayList<>();
        CamelContext context = new DefaultCamelContext();
        Vertx[] vertx = new Vertx[1];
        context.addService(new ServiceSupport() { // added before the instance exists: stops after its services
            @Override
            protected void doStop() {
                order.add("service stopped, Vert.x " + (order.contains("Vert.x closing") ? "closing" : "open"));
            }
        });
        vertx[0] = new RuntimeConfiguration().vertx(context, 1, "does-not-exist/upstreams.yaml");
        ((VertxInternal) vertx[0]).addCloseHook(completion -> {
            order.add("Vert.x closing");
            completion.complete();
        });
        context.start();
        context.stop();

        assertEquals(List.of("service stopped, Vert.x open", "Vert.x closing"), order);
    }
}
