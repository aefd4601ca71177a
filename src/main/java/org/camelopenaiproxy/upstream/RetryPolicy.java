package org.camelopenaiproxy.upstream;

import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.Expression;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.StreamingBody;

/**
 * The {@code retryWhile} of the upstream route's error handler (Camel's redelivery does the waiting,
 * asynchronously, with exponential backoff and jitter). Another attempt is made only when the last
 * one failed in a retryable way, the body can be sent again, the client is still there, attempts
 * are left, and the added time stays under the cap. When the upstream said how long to wait
 * ({@code Retry-After}) and no healthy deployment not tried yet can take the request now, that wait
 * is used instead of the backoff, if it fits under the caps; with such a deployment the retry goes
 * there after the usual backoff (the one that answered 429 cools down meanwhile). And
 * the shared {@link RetryBudget} must have room, unless the retry is a failover to a healthy
 * deployment not tried yet: retries never multiply a failing upstream's load.
 */
public class RetryPolicy implements Expression {

    private final int maxAttempts;
    private final long maxDelayMillis;
    private final long maxTotalMillis;
    /** Indexed by status (100–599): a lookup per upstream answer, with no boxing. */
    private final boolean[] retryStatuses = new boolean[600];
    private final RetryBudget budget;
    private final UpstreamSelector failover;

    /** @param failover tells whether a healthy untried deployment can take the retry (then it is not budgeted), or {@code null} */
    public RetryPolicy(int maxAttempts, long maxDelayMillis, long maxTotalMillis, Set<Integer> retryStatuses,
            RetryBudget budget, UpstreamSelector failover) {
        this.failover = failover;
        this.maxAttempts = maxAttempts;
        this.maxDelayMillis = maxDelayMillis;
        this.maxTotalMillis = maxTotalMillis;
        for (int status : retryStatuses) {
            if (status >= 0 && status < this.retryStatuses.length) {
                this.retryStatuses[status] = true;
            }
        }
        this.budget = budget;
    }

    public RetryBudget budget() {
        return budget;
    }

    /** As the error handler's {@code retryWhile} expression. */
    @Override
    public <T> T evaluate(Exchange exchange, Class<T> type) {
        return exchange.getContext().getTypeConverter().convertTo(type, shouldRetry(exchange));
    }

    /** Whether an upstream answer with this status is a failure worth another attempt. */
    public boolean retryableStatus(int status) {
        return status >= 0 && status < retryStatuses.length && retryStatuses[status];
    }

    public boolean shouldRetry(Exchange exchange) {
        exchange.getMessage().removeHeader(Exchange.REDELIVERY_DELAY);
        ProxyRequest request = ProxyRequest.of(exchange);
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (failure == null) {
            failure = exchange.getException();
        }
        if (!(failure instanceof UpstreamFailure upstream) || !upstream.retryable() || request == null
                || request.clientGone() || exchange.getMessage().getBody() instanceof StreamingBody
                || request.attempts().size() >= maxAttempts) {
            return false;
        }
        long elapsed = (System.nanoTime() - request.firstAttemptNanos()) / 1_000_000;
        if (upstream.retryAfterMillis() > 0 && !canFailOver(request)) {
            // only deployments that asked for patience are left: wait what they asked for
            if (upstream.retryAfterMillis() > maxDelayMillis || elapsed + upstream.retryAfterMillis() > maxTotalMillis) {
                return false; // the upstream wants more patience than we may spend
            }
            if (!withinBudget(exchange, request)) {
                return false;
            }
            exchange.getMessage().setHeader(Exchange.REDELIVERY_DELAY, upstream.retryAfterMillis());
            return true;
        }
        return elapsed < maxTotalMillis && withinBudget(exchange, request);
    }

    /** Whether a healthy deployment not tried yet can take the retry now (then a 429's Retry-After is not waited out). */
    private boolean canFailOver(ProxyRequest request) {
        return failover != null && failover.canFailOver(request.facts().model(), request.triedDeployments());
    }

    /**
     * A failover to a healthy deployment not tried yet is free (it adds no load to the one that
     * failed); any other retry takes a token (held until the retry's attempt has its outcome), if
     * the budget allows.
     */
    private boolean withinBudget(Exchange exchange, ProxyRequest request) {
        if (exchange.getProperty(RetryBudget.TOKEN) != null) {
            return true; // asked twice about the same failure: the token is taken already
        }
        if (canFailOver(request)) {
            return true;
        }
        if (!budget.tryAcquireRetry()) {
            return false;
        }
        exchange.setProperty(RetryBudget.TOKEN, Boolean.TRUE);
        return true;
    }
}
