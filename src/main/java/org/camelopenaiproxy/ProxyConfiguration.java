package org.camelopenaiproxy;

import java.util.List;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.CamelBeanPostProcessor;
import org.apache.camel.support.PluginHelper;
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

    /**
     * New instances, in order. Instances, not classes: camel-main post-processes a configuration
     * class twice (its injector, then again), which would make every {@code @BindToRegistry} bean twice.
     */
    public static List<CamelConfiguration> capabilities() {
        return List.of(new RuntimeConfiguration(), new AuthConfiguration(), new UpstreamConfiguration(),
                new CacheConfiguration(), new LimitsConfiguration(), new PolicyConfiguration(),
                new ObserveConfiguration(), new ListenerConfiguration(), new LifecycleConfiguration());
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        CamelBeanPostProcessor postProcessor = PluginHelper.getBeanPostProcessor(context);
        List<CamelConfiguration> configurations = capabilities();
        for (CamelConfiguration configuration : configurations) {
            String name = configuration.getClass().getName();
            postProcessor.postProcessBeforeInitialization(configuration, name); // binds its beans
            postProcessor.postProcessAfterInitialization(configuration, name);
        }
        for (CamelConfiguration configuration : configurations) {
            configuration.configure(context);
        }
    }
}
