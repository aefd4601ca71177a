package org.camelopenaiproxy.upstream;

import java.util.LinkedHashSet;
import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.request.Attempt;
import org.camelopenaiproxy.request.ProxyRequest;

/**
 * Step {@code exhaustedResponder}: the client's answer when every attempt failed. When the last
 * attempt got an answer from an upstream, the client gets that answer (429 stays 429, 500 stays
 * 500, with the upstream's masked body and its {@code Retry-After}, {@code retry-after-ms},
 * {@code x-ratelimit-*} headers), so the SDKs' own retry and {@code RateLimitError} handling work
 * as against OpenAI. Only when no upstream answered does the proxy make the error (502
 * unreachable, 504 timeout), naming the deployments it tried and carrying the request id.
 */
public class ExhaustedResponder implements Processor {

    @Override
    public void process(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        ProxyException error = OpenAiError.from(exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class));
        request.error(error);
        UpstreamAnswer answer = error instanceof UpstreamFailure failure ? failure.answer() : null;
        if (answer != null) {
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, answer.status());
            exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, answer.headers().get("content-type"));
            exchange.getMessage().setBody(answer.body());
            request.upstreamHeaders(answer.headers());
            return;
        }
        int attempts = request.attempts().size();
        String message = OpenAiError.withRequestId(error.getMessage() + tried(request, attempts), request.requestId());
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, error.status());
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, OpenAiError.CONTENT_TYPE);
        exchange.getMessage().setBody(OpenAiError.body(error.type(), error.code(), error.param(), message));
        if (error instanceof UpstreamFailure failure && failure.retryAfterMillis() > 0) {
            request.retryAfter(failure.retryAfterMillis());
        }
    }

    /** " (3 attempts; tried: a, b)" for the message of an error the proxy made. */
    private static String tried(ProxyRequest request, int attempts) {
        if (attempts == 0) {
            return "";
        }
        Set<String> names = new LinkedHashSet<>();
        for (Attempt a : request.attempts()) {
            names.add(a.deployment());
        }
        return " (" + (attempts > 1 ? attempts + " attempts; " : "") + "tried: " + String.join(", ", names) + ")";
    }
}
