package org.camelopenaiproxy.upstream;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Envoy's retry budget: retries in flight may be at most {@code percent} of the requests in flight,
 * but at least {@code minConcurrent} (so a quiet proxy can still retry). When breakers let every
 * request through to a failing upstream (panic mode), this is what keeps retries from multiplying
 * its load; when the budget is spent, the client gets the upstream's answer without another attempt.
 * Resilience4j's Retry has no such shared budget, hence these two counters.
 */
public class RetryBudget {

    /** Exchange property: this exchange holds a retry token until its next attempt has an outcome. */
    public static final String TOKEN = "proxy.retry.token";

    private final int percent;
    private final int minConcurrent;
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger retries = new AtomicInteger();

    public RetryBudget(int percent, int minConcurrent) {
        this.percent = percent;
        this.minConcurrent = minConcurrent;
    }

    /** A request starts its first upstream attempt. */
    public void requestStarted() {
        requests.incrementAndGet();
    }

    /** A request is over (answered, failed, or the client left). */
    public void requestEnded() {
        requests.decrementAndGet();
    }

    /** Takes a retry token if the budget allows one more retry in flight. */
    public boolean tryAcquireRetry() {
        while (true) {
            int current = retries.get();
            if (current >= allowed()) {
                return false;
            }
            if (retries.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /** The retry's attempt has its outcome. */
    public void retryEnded() {
        retries.decrementAndGet();
    }

    /** How many retries may be in flight now. */
    public int allowed() {
        return Math.max(minConcurrent, (int) ((long) requests.get() * percent / 100));
    }

    public int retriesInFlight() {
        return retries.get();
    }

    public int requestsInFlight() {
        return requests.get();
    }
}
