package org.camelopenaiproxy.observe;

import org.apache.camel.AsyncProducer;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;
import org.camelopenaiproxy.http.ProxyRequest;
import org.camelopenaiproxy.usage.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches every request from arrival to the end of its answer: counts it in flight, and when it
 * finishes (answered, failed, or the client left) records its metrics and publishes one event,
 * whose body is the request's JSON line ({@link RequestRecord}), to the route
 * {@code request-completed} ({@code routes/audit.camel.yaml}), which taps it to the access log and
 * the audit sink. Publishing is a non-blocking hand-over: the sinks run on their own threads.
 */
public class RequestObserver extends ServiceSupport {

    /** Headers on each event, for content-based routing in the YAML route without parsing the JSON. */
    public static final String KEY = "proxyKey";
    public static final String MODEL = "proxyModel";
    public static final String STATUS = "proxyStatus";
    public static final String ENDPOINT = "proxyEndpoint";
    public static final String REQUEST_ID = "proxyRequestId";

    private static final Logger LOG = LoggerFactory.getLogger(RequestObserver.class);

    private final CamelContext camelContext;
    private final String eventsUri;
    private final ProxyMetrics metrics;
    private Endpoint events;
    private AsyncProducer producer;

    public RequestObserver(CamelContext camelContext, String eventsUri, ProxyMetrics metrics) {
        this.camelContext = camelContext;
        this.eventsUri = eventsUri;
        this.metrics = metrics;
    }

    @Override
    protected void doStart() throws Exception {
        events = camelContext.getEndpoint(eventsUri);
        producer = events.createAsyncProducer();
        ServiceHelper.startService(producer);
    }

    @Override
    protected void doStop() {
        ServiceHelper.stopService(producer);
    }

    /** Call when a request arrives; the rest happens when it finishes. */
    public void observe(ProxyRequest request) {
        metrics.started();
        request.onFinish(outcome -> finished(request, outcome));
    }

    private void finished(ProxyRequest request, Outcome outcome) {
        long end = System.nanoTime();
        metrics.finished(request, outcome, end);
        if (producer == null) {
            return;
        }
        Exchange event = events.createExchange();
        Message message = event.getMessage();
        message.setBody(RequestRecord.json(request, outcome, end));
        message.setHeader(REQUEST_ID, request.requestId());
        message.setHeader(KEY, request.client() == null ? null : request.client().name());
        message.setHeader(MODEL, request.facts().model());
        message.setHeader(STATUS, outcome.status());
        message.setHeader(ENDPOINT, request.path());
        try {
            producer.process(event, doneSync -> {
                if (event.getException() != null) {
                    dropped(event.getException());
                }
            });
        } catch (Throwable e) {
            dropped(e);
        }
    }

    private void dropped(Throwable cause) {
        metrics.eventDropped();
        LOG.debug("Request event not published: {}", cause.toString());
    }
}
