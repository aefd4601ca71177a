package org.camelopenaiproxy.observe;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Step {@code requestEvent} of the sink routes in {@code routes/audit.camel.yaml}: turns one
 * {@link RequestEvent} of a batch into the message a sink gets: the JSON line as body (a String),
 * and headers {@code proxyRequestId}, {@code proxyKey}, {@code proxyModel}, {@code proxyStatus},
 * {@code proxyEndpoint} for routing without parsing the JSON.
 */
public class RequestEventMessage implements Processor {

    public static final String KEY = "proxyKey";
    public static final String MODEL = "proxyModel";
    public static final String STATUS = "proxyStatus";
    public static final String ENDPOINT = "proxyEndpoint";
    public static final String REQUEST_ID = "proxyRequestId";

    @Override
    public void process(Exchange exchange) {
        Message message = exchange.getMessage();
        if (!(message.getBody() instanceof RequestEvent event)) {
            return;
        }
        message.setBody(event.json());
        message.setHeader(REQUEST_ID, event.requestId());
        message.setHeader(KEY, event.key());
        message.setHeader(MODEL, event.model());
        message.setHeader(STATUS, event.status());
        message.setHeader(ENDPOINT, event.endpoint());
    }
}
