package org.camelopenaiproxy.upstream;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.Settlement;

/**
 * What every upstream attempt (HTTP call, WebSocket connect) starts with: back on the request's
 * event loop (a redelivery runs on Camel's scheduler thread), the attempt marked, a deployment
 * chosen for the request's model among those not tried yet, or the request failed when none can
 * take it (none serves the model). Requests and retries in flight are counted for the
 * {@link RetryBudget}. Subclasses make the attempt on the chosen deployment.
 */
public abstract class UpstreamAttemptProcessor extends AsyncProcessorSupport {

    protected final UpstreamSelector selector;
    private final RetryBudget budget;

    /** @param budget the retry budget whose requests in flight this counts, or {@code null} */
    protected UpstreamAttemptProcessor(UpstreamSelector selector, RetryBudget budget) {
        this.selector = selector;
        this.budget = budget;
    }

    @Override
    public final boolean process(Exchange exchange, AsyncCallback callback) {
        ProxyRequest request = ProxyRequest.of(exchange);
        Context context = request.context();
        if (context != null && Vertx.currentContext() != context) {
            context.runOnContext(v -> begin(exchange, request, callback));
        } else {
            begin(exchange, request, callback);
        }
        return false;
    }

    private void begin(Exchange exchange, ProxyRequest request, AsyncCallback done) {
        AsyncCallback callback = done;
        if (request.firstAttemptNanos() == 0 && budget != null) {
            budget.requestStarted();
            request.atEnd(Settlement.RETRY_BUDGET, outcome -> budget.requestEnded());
        }
        if (exchange.removeProperty(RetryBudget.TOKEN) != null && budget != null) {
            callback = sync -> { // this attempt is a retry: its token goes back when the attempt is decided
                budget.retryEnded();
                done.done(sync);
            };
        }
        request.markFirstAttempt();
        String model = request.facts().model();
        UpstreamSelector.Choice choice = selector.select(model, request.triedDeployments());
        if (choice == null) {
            exchange.setException(selector.unavailable(model));
            callback.done(false);
            return;
        }
        attempt(exchange, request, choice, callback);
    }

    /** One attempt on {@code choice}; completes {@code callback} (asynchronously) when it is decided. */
    protected abstract void attempt(Exchange exchange, ProxyRequest request, UpstreamSelector.Choice choice,
            AsyncCallback callback);
}
