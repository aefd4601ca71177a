package org.camelopenaiproxy.deadletter;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.http.ProxyRequest;
import org.camelopenaiproxy.upstream.UpstreamFailure;

/** Step {@code exhaustedResponder}: the client's answer when every attempt failed (502/503/504, request id). */
public class ExhaustedResponder implements Processor {

    @Override
    public void process(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        ProxyException error = OpenAiError.from(exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class));
        int attempts = request.attempts().size();
        request.error(error);
        String message = OpenAiError.withRequestId(error.getMessage()
                + (attempts > 1 ? " (" + attempts + " attempts)" : ""), request.requestId());
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, error.status());
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, OpenAiError.CONTENT_TYPE);
        exchange.getMessage().setBody(OpenAiError.body(error.type(), error.code(), error.param(), message));
        if (error instanceof UpstreamFailure failure && failure.retryAfterMillis() > 0) {
            exchange.setProperty(ProxyRequest.RETRY_AFTER_MS, failure.retryAfterMillis());
        }
    }
}
