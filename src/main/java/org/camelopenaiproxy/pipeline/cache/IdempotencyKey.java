package org.camelopenaiproxy.pipeline.cache;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;

/**
 * Step {@code idempotencyKey}: turns the client's {@code Idempotency-Key} header into the key the
 * step {@code idempotencyGuard} claims, scoped by the caller's key name so that two callers never share one.
 * Without the header nothing is set and the guard lets the request pass.
 */
public class IdempotencyKey implements Processor {

    private static final int MAX_LENGTH = 255;

    @Override
    public void process(Exchange exchange) {
        String header = exchange.getMessage().getHeader(ProxyHeaders.IDEMPOTENCY_KEY, String.class);
        if (header == null || header.isBlank()) {
            return;
        }
        if (header.length() > MAX_LENGTH) {
            throw org.camelopenaiproxy.errors.ProxyException.badRequest("invalid_idempotency_key",
                    "Idempotency-Key may be at most " + MAX_LENGTH + " characters.");
        }
        ProxyRequest request = ProxyRequest.of(exchange);
        String caller = request.client() == null ? "" : request.client().name();
        request.idempotencyKey(caller + '\n' + header.trim());
    }
}
