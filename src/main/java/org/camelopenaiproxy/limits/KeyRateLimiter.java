package org.camelopenaiproxy.limits;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TokensInheritanceStrategy;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.camelopenaiproxy.auth.ClientKey;
import org.camelopenaiproxy.http.ProxyRequest;
import org.camelopenaiproxy.policy.RequestFacts;
import org.camelopenaiproxy.usage.Outcome;

/**
 * Pipeline step {@code throttle}: admits a request only within its key's limits, or refuses it
 * with 429 and {@code Retry-After}, the way OpenAI does.
 * <ul>
 * <li>{@code max_concurrent}: a slot held until the answer (a whole stream) ends or the client
 * leaves; released exactly once.</li>
 * <li>{@code requests_per_minute}, {@code tokens_per_minute}: Bucket4j token buckets refilled
 * smoothly. Tokens are reserved up front (prompt estimate + the request's output cap, or a
 * default), then reconciled with the upstream's real usage when the answer ends.</li>
 * <li>A proxy-wide cap on requests in flight upstream (503 past it).</li>
 * </ul>
 * Keys with no limits get {@code proxy.limits.default.*}. Bucket state is keyed by the key's name
 * and survives edits of {@code keys.yaml}; changed limits are applied to the existing buckets (what was used stays used).
 */
public class KeyRateLimiter implements Processor {

    private final RateLimitStore store;
    private final Limits defaults;
    private final int maxInFlight;
    private final long defaultCompletionTokens;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ConcurrentHashMap<String, KeyBuckets> buckets = new ConcurrentHashMap<>();

    public KeyRateLimiter(RateLimitStore store, Limits defaults, int maxInFlight, long defaultCompletionTokens) {
        this.store = store;
        this.defaults = defaults;
        this.maxInFlight = maxInFlight;
        this.defaultCompletionTokens = defaultCompletionTokens;
    }

    /** A key's buckets and the limits they were built for. */
    private record KeyBuckets(Limits limits, Bucket requests, Bucket tokens) {
    }

    @Override
    public void process(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        ClientKey key = request.client();
        if (key == null) {
            return;
        }
        Limits limits = key.limits().orElse(defaults);
        String name = key.name();
        KeyBuckets kb = bucketsFor(name, limits);

        if (maxInFlight > 0 && inFlight.incrementAndGet() > maxInFlight) {
            inFlight.decrementAndGet();
            throw new RateLimitException(503, "server_error", "proxy_at_capacity",
                    "The proxy is at its limit of " + maxInFlight + " requests in flight; retry shortly.", 1000);
        }
        boolean slot = false;
        try {
            if (limits.maxConcurrent() != null) {
                if (!store.tryAcquire(name, limits.maxConcurrent())) {
                    throw new RateLimitException(429, "concurrency", "rate_limit_exceeded",
                            "Too many concurrent requests for key '" + name + "': limit " + limits.maxConcurrent()
                            + ". Retry when one of them has finished.", 1000);
                }
                slot = true;
            }
            ConsumptionProbe requests = null;
            if (kb.requests != null) {
                requests = kb.requests.tryConsumeAndReturnRemaining(1);
                if (!requests.isConsumed()) {
                    long waitMs = requests.getNanosToWaitForRefill() / 1_000_000;
                    request.rateLimits(status(limits, requests, kb.tokens, null));
                    throw new RateLimitException(429, "requests", "rate_limit_exceeded",
                            "Rate limit reached for key '" + name + "' on requests per minute: limit "
                            + limits.requestsPerMinute() + ". Please try again in " + RateLimitStatus.duration(waitMs * 1_000_000)
                            + ".", waitMs);
                }
            }
            long reserved = 0;
            ConsumptionProbe tokens = null;
            if (kb.tokens != null) {
                reserved = reservation(request.facts(), request.path());
                if (reserved > limits.tokensPerMinute()) {
                    refund(kb.requests, 1);
                    throw new RateLimitException(429, "tokens", "rate_limit_exceeded",
                            "Request too large for key '" + name + "': it needs about " + reserved
                            + " tokens, the limit is " + limits.tokensPerMinute() + " tokens per minute.", 60_000);
                }
                tokens = kb.tokens.tryConsumeAndReturnRemaining(reserved);
                if (!tokens.isConsumed()) {
                    refund(kb.requests, 1);
                    long waitMs = tokens.getNanosToWaitForRefill() / 1_000_000;
                    request.rateLimits(status(limits, requests, kb.tokens, tokens));
                    throw new RateLimitException(429, "tokens", "rate_limit_exceeded",
                            "Rate limit reached for key '" + name + "' on tokens per minute: limit "
                            + limits.tokensPerMinute() + ", requested " + reserved + ". Please try again in "
                            + RateLimitStatus.duration(waitMs * 1_000_000) + ".", waitMs);
                }
            }
            request.rateLimits(status(limits, requests, kb.tokens, tokens));
            boolean heldSlot = slot;
            long heldTokens = reserved;
            request.onFinish(outcome -> done(name, heldSlot, kb.tokens, heldTokens, outcome, request.facts()));
            slot = false; // now owned by the finish listener
        } catch (RuntimeException refused) {
            if (slot) {
                store.release(name);
            }
            if (maxInFlight > 0) {
                inFlight.decrementAndGet();
            }
            throw refused;
        }
    }

    /** The answer ended: free the slot, and settle the token reservation against real usage. */
    private void done(String name, boolean slot, Bucket tokens, long reserved, Outcome outcome, RequestFacts facts) {
        if (slot) {
            store.release(name);
        }
        if (maxInFlight > 0) {
            inFlight.decrementAndGet();
        }
        if (tokens == null) {
            return;
        }
        long used;
        if (outcome.usage() != null) {
            used = outcome.usage().totalTokens();
        } else if (!outcome.succeeded() && outcome.events() == 0) {
            used = 0; // refused or failed before the model produced anything
        } else {
            used = facts.promptTokenEstimate() + outcome.events(); // a stream without usage: about a token an event
        }
        long difference = reserved - used;
        if (difference > 0) {
            tokens.addTokens(difference);
        } else if (difference < 0) {
            tokens.consumeIgnoringRateLimits(-difference);
        }
    }

    long reservation(RequestFacts facts, String path) {
        long output = facts.maxOutputTokens() != null ? facts.maxOutputTokens()
                : path.endsWith("/embeddings") || path.endsWith("/moderations") ? 0 : defaultCompletionTokens;
        return Math.max(1, facts.promptTokenEstimate() + output);
    }

    private static void refund(Bucket bucket, long n) {
        if (bucket != null) {
            bucket.addTokens(n);
        }
    }

    private KeyBuckets bucketsFor(String name, Limits limits) {
        KeyBuckets kb = buckets.get(name);
        if (kb != null && kb.limits.equals(limits)) {
            return kb;
        }
        return buckets.compute(name, (n, old) -> {
            if (old != null && old.limits.equals(limits)) {
                return old;
            }
            Bucket requests = bucket(name + "#requests", limits.requestsPerMinute(),
                    old == null ? null : old.requests, old == null ? null : old.limits.requestsPerMinute());
            Bucket tokens = bucket(name + "#tokens", limits.tokensPerMinute(),
                    old == null ? null : old.tokens, old == null ? null : old.limits.tokensPerMinute());
            return new KeyBuckets(limits, requests, tokens);
        });
    }

    private Bucket bucket(String id, Long perMinute, Bucket existing, Long existingPerMinute) {
        if (perMinute == null) {
            return null;
        }
        BucketConfiguration config = perMinute(perMinute);
        Bucket bucket = store.bucket(id, config);
        if (existing != null && !Objects.equals(perMinute, existingPerMinute)) {
            bucket.replaceConfiguration(config, TokensInheritanceStrategy.ADDITIVE);
        }
        return bucket;
    }

    static BucketConfiguration perMinute(long n) {
        return BucketConfiguration.builder()
                .addLimit(limit -> limit.capacity(n).refillGreedy(n, Duration.ofMinutes(1)))
                .build();
    }

    private static RateLimitStatus status(Limits limits, ConsumptionProbe requests, Bucket tokenBucket,
            ConsumptionProbe tokens) {
        long limitRequests = limits.requestsPerMinute() == null ? -1 : limits.requestsPerMinute();
        long limitTokens = limits.tokensPerMinute() == null ? -1 : limits.tokensPerMinute();
        return new RateLimitStatus(
                limitRequests,
                requests == null ? -1 : requests.getRemainingTokens(),
                requests == null ? 0 : requests.getNanosToWaitForReset(),
                limitTokens,
                tokens != null ? tokens.getRemainingTokens() : tokenBucket == null ? -1 : tokenBucket.getAvailableTokens(),
                tokens == null ? 0 : tokens.getNanosToWaitForReset());
    }

    /** Slots taken now by {@code keyName} (for tests and metrics). */
    public int inFlight(String keyName) {
        return store.inFlight(keyName);
    }
}
