package org.camelopenaiproxy.route;

import java.util.List;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.apache.camel.BeanInject;
import org.apache.camel.CamelContext;
import org.apache.camel.component.micrometer.eventnotifier.MicrometerRouteEventNotifier;
import org.apache.camel.spi.EventNotifier;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.camelopenaiproxy.ProxyConfiguration;
import org.camelopenaiproxy.support.TestEnv;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A guard for the CPU per request (bench/README.md): once started, no event notifier asks Camel for
 * an event per exchange and step, so none is prepared for any request.
 */
@CamelMainTest(propertyPlaceholderLocations = TestEnv.DEFAULTS, configurationClasses = ProxyConfiguration.class,
        properties = {TestEnv.PORT, TestEnv.HOST, TestEnv.UPSTREAM, TestEnv.UPSTREAM_API_KEY, TestEnv.KEYS,
            TestEnv.NO_RELOAD, TestEnv.QUICK_STOP})
class ExchangeEventsTest {

    private final WireMockServer upstream = TestEnv.upstream();

    @BeanInject
    CamelContext context;

    @Test
    void no_notifier_asks_for_exchange_or_step_events() {
        assertFalse(context.getManagementStrategy().getEventNotifiers().isEmpty(), "Camel's own notifiers are there");
        for (EventNotifier notifier : context.getManagementStrategy().getEventNotifiers()) {
            assertTrue(notifier.isIgnoreExchangeEvents() && notifier.isIgnoreStepEvents(),
                    notifier.getClass().getName() + " asks for an event per exchange");
        }
        assertFalse(context.getCamelContextExtension().isEventNotificationApplicable(),
                "Camel prepares no exchange events");
    }

    @Test
    void only_the_route_gauges_are_asked_at_each_asynchronous_step() {
        // Camel walks the started notifiers at every asynchronous step: the start-only ones are gone
        List<String> started = context.getManagementStrategy().getStartedEventNotifiers().stream()
                .map(n -> n.getClass().getName()).toList();
        assertEquals(List.of(MicrometerRouteEventNotifier.class.getName()), started);
    }
}
