package org.camelopenaiproxy;

import java.util.ArrayList;
import java.util.List;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.camelopenaiproxy.wiring.AuthConfiguration;
import org.camelopenaiproxy.wiring.CacheConfiguration;
import org.camelopenaiproxy.wiring.LifecycleConfiguration;
import org.camelopenaiproxy.wiring.LimitsConfiguration;
import org.camelopenaiproxy.wiring.ListenerConfiguration;
import org.camelopenaiproxy.wiring.ObserveConfiguration;
import org.camelopenaiproxy.wiring.PolicyConfiguration;
import org.camelopenaiproxy.wiring.RuntimeConfiguration;
import org.camelopenaiproxy.wiring.UpstreamConfiguration;

/**
 * The proxy's configuration classes, one per capability (package {@code wiring}), in the order they
 * bind: a class uses beans of the classes before it, and a bean that uses one of its own class is
 * {@code lazy} (made on first lookup). {@link ProxyMain} adds them to camel-main; as a configuration
 * class itself ({@code @CamelMainTest(configurationClasses = ProxyConfiguration.class)}) this installs
 * them the same way: all bound first, then each one's {@code configure}.
 */
public class ProxyConfiguration implements CamelConfiguration {

    public static final List<Class<? extends CamelConfiguration>> CAPABILITIES = List.of(RuntimeConfiguration.class, AuthConfiguration.class,
            UpstreamConfiguration.class, CacheConfiguration.class, LimitsConfiguration.class,
            PolicyConfiguration.class, ObserveConfiguration.class, ListenerConfiguration.class,
            LifecycleConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        List<CamelConfiguration> configurations = new ArrayList<>();
        for (Class<? extends CamelConfiguration> type : CAPABILITIES) {
            configurations.add(context.getInjector().newInstance(type)); // post-processed: its beans bound
        }
        for (CamelConfiguration configuration : configurations) {
            configuration.configure(context);
        }
    }
}
