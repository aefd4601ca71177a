package org.camelopenaiproxy.request;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.Context;
import io.vertx.core.Handler;

/**
 * The answers being relayed right now, each with the handler that ends it on a failure (a stream
 * with an SSE error event). At shutdown, what is still open when the drain time is over is ended
 * this way ({@link #endAll}), on each answer's own event loop, instead of being cut.
 */
public class ActiveRelays {

    private final Map<ProxyRequest, Handler<Throwable>> relays = new ConcurrentHashMap<>();

    public void add(ProxyRequest request, Handler<Throwable> onFailure) {
        relays.put(request, onFailure);
    }

    public void remove(ProxyRequest request) {
        relays.remove(request);
    }

    public int size() {
        return relays.size();
    }

    /** Ends every open answer as if its upstream had failed with {@code reason}. */
    public void endAll(Throwable reason) {
        for (Map.Entry<ProxyRequest, Handler<Throwable>> e : relays.entrySet()) {
            Context context = e.getKey().context();
            if (context != null) {
                context.runOnContext(v -> e.getValue().handle(reason));
            } else {
                e.getValue().handle(reason);
            }
        }
    }
}
