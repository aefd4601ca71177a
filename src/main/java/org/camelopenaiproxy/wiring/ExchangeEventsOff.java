package org.camelopenaiproxy.wiring;

import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.component.micrometer.eventnotifier.MicrometerRouteEventNotifier;
import org.apache.camel.spi.EventNotifier;
import org.apache.camel.spi.ManagementStrategy;

/**
 * Camel prepares an event for every exchange and step (created, sending, async processing
 * started, done) as long as one event notifier leaves exchange events undeclared. Three notifiers
 * Camel registers for itself want only context or route events but declare nothing: camel-main's
 * placeholder summary, platform-http's endpoint list, camel-micrometer's route gauges. Every
 * request paid for events no one reads (4.1% of the samples in a profile, 1.6% after declaring them
 * ignored; bench/README.md). Once the context has started (called from a startup listener, after
 * the context and routes started events), this:
 * <ul>
 * <li>removes the two that act at start only (their summaries are logged by then): Camel still
 * walks the started notifiers for every asynchronous step, asking each whether it ignores
 * exchange events, and that walk was the 1.6% left;</li>
 * <li>declares exchange and step events ignored on the route gauges, which stay for route events
 * (routes added, running, reloaded).</li>
 * </ul>
 * Any other notifier (one an application embedding the proxy added, say) is left as it is and
 * still gets its events.
 */
final class ExchangeEventsOff {

    private ExchangeEventsOff() {
    }

    static void apply(CamelContext context) {
        ManagementStrategy management = context.getManagementStrategy();
        boolean wanted = false;
        for (EventNotifier notifier : List.copyOf(management.getEventNotifiers())) {
            if (actsAtStartOnly(notifier)) {
                management.removeEventNotifier(notifier);
                continue;
            }
            if (notifier instanceof MicrometerRouteEventNotifier) {
                notifier.setIgnoreExchangeEvents(true);
                notifier.setIgnoreStepEvents(true);
            }
            wanted |= !notifier.isIgnoreExchangeEvents();
        }
        context.getCamelContextExtension().setEventNotificationApplicable(wanted);
    }

    /** camel-main's placeholder summary and platform-http's endpoint list: logged once, at start. */
    static boolean actsAtStartOnly(EventNotifier notifier) {
        String name = notifier.getClass().getName();
        return name.startsWith("org.apache.camel.main.BaseMainSupport$PlaceholderSummaryEventNotifier")
                || name.startsWith("org.apache.camel.component.platform.http.main.MainHttpServerUtil$");
    }
}
