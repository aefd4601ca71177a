package org.camelopenaiproxy.upstream;

import org.apache.camel.LoggingLevel;
import org.apache.camel.ShutdownRunningTask;
import org.apache.camel.builder.RouteBuilder;

/**
 * The upstream envelope, in Java DSL because its error handler is the retry engine:
 * <ul>
 * <li>route {@code upstream} ({@code direct:upstream}): one {@code upstreamCall} per attempt;
 * Camel's dead-letter channel redelivers with exponential backoff and jitter, asynchronously (no
 * thread waits), while {@link RetryPolicy} says; each attempt picks its deployment again, so
 * retries fail over;</li>
 * <li>route {@code dead-letter}: a request that failed after all attempts is recorded
 * ({@code deadLetterRecord}), handed to the sink through a wireTap (never delaying the client), and
 * answered with an OpenAI-shaped 502/503/504 carrying the request id;</li>
 * <li>route {@code dead-letter-sink} ({@code seda:dead-letter}): writes records to
 * {@code proxy.dead-letter.uri} on its own thread; a failing sink is logged, nothing else.</li>
 * </ul>
 */
public class UpstreamRoutes extends RouteBuilder {

    private final RetryPolicy retryPolicy;
    private final int maxAttempts;
    private final long initialDelayMillis;
    private final long maxDelayMillis;

    public UpstreamRoutes(RetryPolicy retryPolicy, int maxAttempts, long initialDelayMillis, long maxDelayMillis) {
        this.retryPolicy = retryPolicy;
        this.maxAttempts = maxAttempts;
        this.initialDelayMillis = initialDelayMillis;
        this.maxDelayMillis = maxDelayMillis;
    }

    @Override
    public void configure() {
        errorHandler(deadLetterChannel("direct:dead-letter")
                .maximumRedeliveries(Math.max(0, maxAttempts - 1))
                .retryWhile(retryPolicy)
                .redeliveryDelay(initialDelayMillis)
                .useExponentialBackOff()
                .backOffMultiplier(2)
                .useCollisionAvoidance()
                .maximumRedeliveryDelay(maxDelayMillis)
                .asyncDelayedRedelivery()
                .logExhausted(false)
                .logRetryAttempted(false)
                .logStackTrace(false));

        from("direct:upstream").routeId("upstream")
                .process("upstreamCall");

        from("direct:dead-letter").routeId("dead-letter")
                .errorHandler(noErrorHandler())
                .process("deadLetterRecord")
                .process("exhaustedResponder")
                .filter(exchangeProperty(DeadLetterRecord.LINE).isNotNull())
                    .wireTap("seda:dead-letter?size={{proxy.dead-letter.queue-size}}&blockWhenFull=false")
                    .onPrepare(tap -> tap.getMessage().setBody(tap.getProperty(DeadLetterRecord.LINE)));

        from("seda:dead-letter?size={{proxy.dead-letter.queue-size}}&pollTimeout={{proxy.events.poll-ms}}")
                .routeId("dead-letter-sink")
                .shutdownRunningTask(ShutdownRunningTask.CompleteAllTasks) // write what is queued before stopping
                .errorHandler(noErrorHandler())
                .onException(Exception.class).handled(true)
                    .log(LoggingLevel.ERROR, "Dead-letter sink {{proxy.dead-letter.uri}} failed: ${exception.message}")
                .end()
                .to("{{proxy.dead-letter.uri}}");
    }
}
