package org.camelopenaiproxy.unit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.camelopenaiproxy.observe.JvmMetrics;
import org.camelopenaiproxy.support.Await;
import org.junit.jupiter.api.Test;

/** The JVM's meters, bound off the launch's path: once per start, never after the proxy began to stop. */
class JvmMetricsTest {

    @Test
    void binds_the_jvm_meters_once_in_the_background() throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        JvmMetrics jvm = new JvmMetrics(meters);
        jvm.start();
        assertNull(meters.find("jvm.memory.used").gauge(), "nothing is bound with the registry itself");

        jvm.bindInBackground();
        Await.that(10, "the JVM meters", jvm::bound);
        assertNotNull(meters.find("jvm.memory.used").gauge());
        assertNotNull(meters.find("jvm.threads.live").gauge());
        assertNotNull(meters.find("process.uptime").timeGauge());
        assertNotNull(meters.find("system.cpu.count").gauge());
        int bound = meters.getMeters().size();

        jvm.bind(); // a second call (a restart's listener, say) adds nothing
        assertEquals(bound, meters.getMeters().size());
        jvm.stop();
        assertTrue(!jvm.bound(), "the GC listeners are removed at stop");
    }

    @Test
    void nothing_is_bound_once_the_proxy_is_stopping() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        JvmMetrics jvm = new JvmMetrics(meters);
        jvm.start();
        jvm.stop(); // stopped before the background thread got to it
        jvm.bind();
        assertTrue(meters.getMeters().isEmpty(), meters.getMeters().toString());
    }
}
