package org.camelopenaiproxy.relay;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.errors.RateLimitException;
import org.camelopenaiproxy.request.ProxyRequest;

/** Writes the caught exception of an exchange as an OpenAI-shaped error (status + JSON body). */
public class OpenAiErrorResponder implements Processor {

    @Override
    public void process(Exchange exchange) {
        Throwable caught = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        ProxyException error = OpenAiError.from(caught);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, error.status());
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, OpenAiError.CONTENT_TYPE);
        ProxyRequest request = ProxyRequest.of(exchange);
        String requestId = null;
        if (request != null) {
            request.error(error);
            requestId = request.requestId();
        }
        exchange.getMessage().setBody(OpenAiError.body(error.type(), error.code(), error.param(),
                OpenAiError.withRequestId(error.getMessage(), requestId)));
        if (error instanceof RateLimitException limited && request != null) {
            request.retryAfter(limited.retryAfterMillis());
        }
    }
}
