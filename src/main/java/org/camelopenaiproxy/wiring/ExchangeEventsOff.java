package org.camelopenaiproxy.wiring;

import org.apache.camel.CamelContext;
import org.apache.camel.component.micrometer.eventnotifier.MicrometerRouteEventNotifier;
import org.apache.camel.spi.EventNotifier;

/**
 * Camel prepares an event for every exchange and step (created, sending, async processing
 * started, done) as long as one event notifier leaves exchange events undeclared. Three notifiers
 * Camel registers for itself want only context or route events but declare nothing: camel-main's
 * placeholder summary, platform-http's endpoint list, camel-micrometer's route gauges. Every
 * request paid for events no one reads (4.1% of the samples in a profile, 1.6% after; bench/README.md). Once the context has
 * started, this declares exchange and step events ignored on those three. Any other notifier (one
 * an application embedding the proxy added, say) is left as it is and still gets its events.
 */
final class ExchangeEventsOff {

    private ExchangeEventsOff() {
    }

    static void apply(CamelContext context) {
        boolean wanted = false;
        for (EventNotifier notifier : context.getManagementStrategy().getEventNotifiers()) {
            if (wantsNoExchangeEvents(notifier)) {
                notifier.setIgnoreExchangeEvents(true);
                notifier.setIgnoreStepEvents(true);
            }
            wanted |= !notifier.isIgnoreExchangeEvents();
        }
        context.getCamelContextExtension().setEventNotificationApplicable(wanted);
    }

    /** Camel's own notifiers that act on context or route events only. */
    static boolean wantsNoExchangeEvents(EventNotifier notifier) {
        String name = notifier.getClass().getName();
        return notifier instanceof MicrometerRouteEventNotifier
                || name.startsWith("org.apache.camel.main.BaseMainSupport$PlaceholderSummaryEventNotifier")
                || name.startsWith("org.apache.camel.component.platform.http.main.MainHttpServerUtil$");
    }
}
