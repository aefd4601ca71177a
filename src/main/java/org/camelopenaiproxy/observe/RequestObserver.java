package org.camelopenaiproxy.observe;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.vertx.core.Vertx;
import org.apache.camel.AsyncProducer;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.Settlement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches every request from arrival to the end of its answer: counts it in flight, and when it
 * ends (the last two settlements, {@link Settlement#METRICS} and {@link Settlement#REQUEST_EVENT})
 * records its metrics and queues one {@link RequestEvent} (its JSON line, {@link RequestRecord}). Queued events go to the route
 * {@code request-completed} ({@code routes/audit.camel.yaml}) as one exchange per batch, at most
 * {@code batchMillis} after the first of them, or at once when {@code batchMax} are waiting: the
 * route taps each batch to the access-log and audit sinks, which run on their own threads and
 * split it into one message per request. Batching keeps the per-request cost on the event loop to
 * building the line and a queue offer: a hand-over per request would wake a sink thread per
 * request, which the benchmark showed costs more than all the rest of the observing.
 */
public class RequestObserver extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(RequestObserver.class);

    private final CamelContext camelContext;
    private final Vertx vertx;
    private final String eventsUri;
    private final ProxyMetrics metrics;
    private final long batchMillis;
    private final int batchMax;
    private final ConcurrentLinkedQueue<RequestEvent> pending = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pendingCount = new AtomicInteger();
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private Endpoint events;
    private AsyncProducer producer;

    public RequestObserver(CamelContext camelContext, Vertx vertx, String eventsUri, ProxyMetrics metrics,
            long batchMillis, int batchMax) {
        this.camelContext = camelContext;
        this.vertx = vertx;
        this.eventsUri = eventsUri;
        this.metrics = metrics;
        this.batchMillis = Math.max(1, batchMillis);
        this.batchMax = Math.max(1, batchMax);
    }

    @Override
    protected void doStart() throws Exception {
        events = camelContext.getEndpoint(eventsUri);
        producer = events.createAsyncProducer();
        ServiceHelper.startService(producer);
    }

    @Override
    protected void doStop() {
        flush();
        ServiceHelper.stopService(producer);
    }

    /** Call when a request arrives; the rest happens when it finishes. */
    public void observe(ProxyRequest request) {
        metrics.started();
        inFlight.incrementAndGet();
        request.atEnd(Settlement.METRICS, outcome -> {
            inFlight.decrementAndGet();
            metrics.finished(request, outcome, System.nanoTime());
        });
        request.atEnd(Settlement.REQUEST_EVENT, outcome -> queue(request, outcome));
    }

    /** Requests arrived and not finished yet (what a shutdown waits for). */
    public int inFlight() {
        return inFlight.get();
    }

    /** Settlement {@link Settlement#REQUEST_EVENT}: the request's JSON line joins the next batch. */
    private void queue(ProxyRequest request, Outcome outcome) {
        long end = System.nanoTime();
        pending.add(new RequestEvent(RequestRecord.json(request, outcome, end), request.requestId(),
                request.client() == null ? null : request.client().name(), request.facts().model(), outcome.status(),
                request.path()));
        if (pendingCount.incrementAndGet() >= batchMax) {
            flush();
        } else if (flushScheduled.compareAndSet(false, true)) {
            vertx.setTimer(batchMillis, id -> {
                flushScheduled.set(false);
                flush();
            });
        }
    }

    /** Hands everything queued to the event route now (also at shutdown, so nothing waits in vain). */
    public void flush() {
        List<RequestEvent> batch = new ArrayList<>(Math.min(pendingCount.get() + 8, batchMax + 64));
        RequestEvent event;
        while ((event = pending.poll()) != null) {
            batch.add(event);
        }
        if (batch.isEmpty()) {
            return;
        }
        pendingCount.addAndGet(-batch.size());
        if (producer == null || !isRunAllowed()) {
            dropped(batch.size(), new IllegalStateException("the request observer is not running"));
            return;
        }
        Exchange exchange = events.createExchange();
        exchange.getMessage().setBody(batch);
        try {
            producer.process(exchange, doneSync -> {
                if (exchange.getException() != null) {
                    dropped(batch.size(), exchange.getException());
                }
            });
        } catch (Throwable e) {
            dropped(batch.size(), e);
        }
    }

    private void dropped(int count, Throwable cause) {
        metrics.eventsDropped(count);
        LOG.warn("{} request event(s) not published: {}", count, cause.toString());
    }
}
