package org.camelopenaiproxy.request;

import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a request ends: {@link #end} runs at most once per request, whoever calls it first
 * (the response writer, the relay, the realtime relay, the entry when the client left before
 * anything was written), and then runs the request's settlements in the order of
 * {@link Settlement}. A settlement that throws is logged and the next one still runs.
 * Touched only on the request's event loop.
 */
final class RequestEnd {

    private static final Logger LOG = LoggerFactory.getLogger(RequestEnd.class);
    private static final Settlement[] ORDER = Settlement.values();

    @SuppressWarnings("unchecked")
    private final Consumer<Outcome>[] settlements = new Consumer[ORDER.length];
    private Outcome outcome;

    /** Adds {@code action} to settlement {@code name}; after the end it runs at once. */
    void add(Settlement name, Consumer<Outcome> action) {
        if (outcome != null) {
            run(name, action, outcome);
            return;
        }
        Consumer<Outcome> before = settlements[name.ordinal()];
        settlements[name.ordinal()] = before == null ? action : how -> {
            run(name, before, how);
            run(name, action, how);
        };
    }

    /** Ends the request with {@code how}; {@code false} when it had ended already (nothing runs again). */
    boolean end(Outcome how, String requestId) {
        if (outcome != null) {
            return false;
        }
        outcome = how;
        for (Settlement name : ORDER) {
            Consumer<Outcome> action = settlements[name.ordinal()];
            if (action != null) {
                settlements[name.ordinal()] = null;
                run(name, action, how, requestId);
            }
        }
        return true;
    }

    /** How the request ended, or {@code null} while it runs. */
    Outcome outcome() {
        return outcome;
    }

    private void run(Settlement name, Consumer<Outcome> action, Outcome how) {
        run(name, action, how, null);
    }

    private static void run(Settlement name, Consumer<Outcome> action, Outcome how, String requestId) {
        try {
            action.accept(how);
        } catch (RuntimeException e) {
            LOG.warn("Settlement {} of request {} failed: {}", name, requestId, e.toString());
        }
    }
}
