package org.camelopenaiproxy.pipeline.limits;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TokensInheritanceStrategy;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.vertx.core.Context;
import org.apache.camel.Exchange;
import org.camelopenaiproxy.errors.RateLimitException;
import org.camelopenaiproxy.pipeline.AsyncStep;
import org.camelopenaiproxy.request.ClientKey;
import org.camelopenaiproxy.request.Limits;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.RateLimitStatus;
import org.camelopenaiproxy.request.RequestFacts;
import org.camelopenaiproxy.request.Settlement;

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
 * Every store call is asynchronous ({@link RateLimitStore}): the step waits for the store's
 * answers without holding the event loop, and decides on the request's context.
 */
public class KeyRateLimiter extends AsyncStep {

    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

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

    /** A key's buckets, the limits they were built for, and when a changed configuration is in place. */
    private record KeyBuckets(Limits limits, AsyncBucketProxy requests, AsyncBucketProxy tokens,
            CompletionStage<Void> ready) {
    }

    @Override
    protected CompletionStage<?> run(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        ClientKey key = request.client();
        if (key == null) {
            return DONE;
        }
        if (maxInFlight > 0 && inFlight.incrementAndGet() > maxInFlight) {
            inFlight.decrementAndGet();
            throw new RateLimitException(503, "server_error", "proxy_at_capacity",
                    "The proxy is at its limit of " + maxInFlight + " requests in flight; retry shortly.", 1000);
        }
        Admission admission = new Admission(request, key.limits().orElse(defaults), key.name(), context(exchange));
        return admission.run().whenComplete((v, refused) -> {
            if (refused != null) {
                admission.refused();
            }
        });
    }

    /** One request's way through the limits, each store answer awaited on the request's context. */
    private final class Admission {

        private final ProxyRequest request;
        private final Limits limits;
        private final String name;
        private final Context context;
        private final KeyBuckets kb;
        private boolean slot;
        private ConsumptionProbe requests;

        Admission(ProxyRequest request, Limits limits, String name, Context context) {
            this.request = request;
            this.limits = limits;
            this.name = name;
            this.context = context;
            this.kb = bucketsFor(name, limits);
        }

        CompletionStage<Void> run() {
            return await(kb.ready).thenCompose(v -> concurrency()).thenCompose(v -> requestsPerMinute())
                    .thenCompose(v -> tokensPerMinute());
        }

        private <T> CompletionStage<T> await(CompletionStage<T> stage) {
            return AsyncStep.onContext(context, stage);
        }

        private CompletionStage<Void> concurrency() {
            if (limits.maxConcurrent() == null) {
                return DONE;
            }
            return await(store.tryAcquire(name, limits.maxConcurrent())).thenAccept(taken -> {
                if (!taken) {
                    throw new RateLimitException(429, "concurrency", "rate_limit_exceeded",
                            "Too many concurrent requests for key '" + name + "': limit " + limits.maxConcurrent()
                            + ". Retry when one of them has finished.", 1000);
                }
                slot = true;
            });
        }

        private CompletionStage<Void> requestsPerMinute() {
            if (kb.requests == null) {
                return DONE;
            }
            return await(kb.requests.tryConsumeAndReturnRemaining(1)).thenCompose(probe -> {
                requests = probe;
                if (probe.isConsumed()) {
                    return DONE;
                }
                long waitMs = probe.getNanosToWaitForRefill() / 1_000_000;
                return status(null).thenAccept(status -> {
                    request.rateLimits(status);
                    throw new RateLimitException(429, "requests", "rate_limit_exceeded",
                            "Rate limit reached for key '" + name + "' on requests per minute: limit "
                            + limits.requestsPerMinute() + ". Please try again in "
                            + RateLimitStatus.duration(waitMs * 1_000_000) + ".", waitMs);
                });
            });
        }

        private CompletionStage<Void> tokensPerMinute() {
            long reserved = kb.tokens == null ? 0 : reservation(request.facts(), request.path());
            if (kb.tokens != null && reserved > limits.tokensPerMinute()) {
                refund(kb.requests, 1);
                throw new RateLimitException(429, "tokens", "rate_limit_exceeded",
                        "Request too large for key '" + name + "': it needs about " + reserved
                        + " tokens, the limit is " + limits.tokensPerMinute() + " tokens per minute.", 60_000);
            }
            CompletionStage<ConsumptionProbe> consumed = kb.tokens == null ? CompletableFuture.completedFuture(null)
                    : await(kb.tokens.tryConsumeAndReturnRemaining(reserved));
            return consumed.thenCompose(tokens -> status(tokens).thenAccept(status -> {
                request.rateLimits(status);
                if (tokens != null && !tokens.isConsumed()) {
                    refund(kb.requests, 1);
                    long waitMs = tokens.getNanosToWaitForRefill() / 1_000_000;
                    throw new RateLimitException(429, "tokens", "rate_limit_exceeded",
                            "Rate limit reached for key '" + name + "' on tokens per minute: limit "
                            + limits.tokensPerMinute() + ", requested " + reserved + ". Please try again in "
                            + RateLimitStatus.duration(waitMs * 1_000_000) + ".", waitMs);
                }
                boolean heldSlot = slot;
                request.atEnd(Settlement.CONCURRENCY_SLOT, outcome -> release(name, heldSlot));
                if (kb.tokens != null) {
                    request.atEnd(Settlement.TOKENS, outcome -> settleTokens(kb.tokens, reserved, outcome, request.facts()));
                }
                slot = false; // now released by the request's end
            }));
        }

        /** The key's budget as the headers report it; reads the token bucket when it was not consumed from. */
        private CompletionStage<RateLimitStatus> status(ConsumptionProbe tokens) {
            CompletionStage<Long> available = tokens != null || kb.tokens == null ? CompletableFuture.completedFuture(-1L)
                    : await(kb.tokens.getAvailableTokens());
            return available.thenApply(remaining -> KeyRateLimiter.status(limits, requests,
                    tokens != null ? tokens.getRemainingTokens() : remaining, tokens));
        }

        /** Refused: give back what was taken. */
        void refused() {
            release(name, slot);
        }
    }

    /** Settlement {@link Settlement#CONCURRENCY_SLOT} (and a refusal): frees the key's slot and the proxy-wide count. */
    private void release(String name, boolean slot) {
        if (slot) {
            store.release(name);
        }
        if (maxInFlight > 0) {
            inFlight.decrementAndGet();
        }
    }

    /** Settlement {@link Settlement#TOKENS}: settles the token reservation against the usage the upstream reported. */
    private static void settleTokens(AsyncBucketProxy tokens, long reserved, Outcome outcome, RequestFacts facts) {
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

    private static void refund(AsyncBucketProxy bucket, long n) {
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
            List<CompletableFuture<Void>> replaced = new ArrayList<>(2);
            AsyncBucketProxy requests = bucket(name + "#requests", limits.requestsPerMinute(),
                    old == null ? null : old.limits.requestsPerMinute(), replaced);
            AsyncBucketProxy tokens = bucket(name + "#tokens", limits.tokensPerMinute(),
                    old == null ? null : old.limits.tokensPerMinute(), replaced);
            return new KeyBuckets(limits, requests, tokens,
                    CompletableFuture.allOf(replaced.toArray(CompletableFuture[]::new)));
        });
    }

    /** The bucket {@code id}; when it existed with another limit, its new configuration's replacement joins {@code replaced}. */
    private AsyncBucketProxy bucket(String id, Long perMinute, Long existingPerMinute,
            List<CompletableFuture<Void>> replaced) {
        if (perMinute == null) {
            return null;
        }
        BucketConfiguration config = perMinute(perMinute);
        AsyncBucketProxy bucket = store.bucket(id, config);
        if (existingPerMinute != null && !Objects.equals(perMinute, existingPerMinute)) {
            replaced.add(bucket.replaceConfiguration(config, TokensInheritanceStrategy.ADDITIVE));
        }
        return bucket;
    }

    static BucketConfiguration perMinute(long n) {
        return BucketConfiguration.builder()
                .addLimit(limit -> limit.capacity(n).refillGreedy(n, Duration.ofMinutes(1)))
                .build();
    }

    private static RateLimitStatus status(Limits limits, ConsumptionProbe requests, long remainingTokens,
            ConsumptionProbe tokens) {
        long limitRequests = limits.requestsPerMinute() == null ? -1 : limits.requestsPerMinute();
        long limitTokens = limits.tokensPerMinute() == null ? -1 : limits.tokensPerMinute();
        return new RateLimitStatus(
                limitRequests,
                requests == null ? -1 : requests.getRemainingTokens(),
                requests == null ? 0 : requests.getNanosToWaitForReset(),
                limitTokens,
                remainingTokens,
                tokens == null ? 0 : tokens.getNanosToWaitForReset());
    }

    /** Slots taken now by {@code keyName} (for tests and metrics). */
    public CompletionStage<Integer> inFlight(String keyName) {
        return store.inFlight(keyName);
    }
}
