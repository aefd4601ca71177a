package org.camelopenaiproxy.upstream;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.camelopenaiproxy.request.ProxyRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dead letters of requests that failed after their answer had begun: a 5xx the upstream answered
 * that was not retried (passed through as it came), or a stream ended by an error event (upstream
 * failure, timeout, drain at shutdown). Same record and same queue as the {@code dead-letter}
 * route's; the offer never blocks (a full queue drops the record, logged).
 */
public class DeadLetterQueue {

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterQueue.class);

    private final CamelContext context;
    private final String uri;
    private final DeadLetterRecord record;
    private volatile ProducerTemplate template;

    /** @param uri the queue the {@code dead-letter-sink} route consumes, with the same options */
    public DeadLetterQueue(CamelContext context, String uri, DeadLetterRecord record) {
        this.context = context;
        this.uri = uri;
        this.record = record;
    }

    /** Records the request (once; a request with a record already is skipped). */
    public void record(ProxyRequest request, int status, String message, String upstreamError) {
        try {
            String method = request.request() == null ? null : request.request().method().name();
            String line = record.line(request, method, status, message, upstreamError, null);
            if (line != null) {
                template().sendBody(uri, line);
            }
        } catch (Exception e) {
            LOG.warn("Dead letter of request {} not queued: {}", request.requestId(), e.getMessage());
        }
    }

    private ProducerTemplate template() {
        ProducerTemplate t = template;
        if (t == null) {
            synchronized (this) {
                if (template == null) {
                    template = context.createProducerTemplate();
                }
                t = template;
            }
        }
        return t;
    }
}
