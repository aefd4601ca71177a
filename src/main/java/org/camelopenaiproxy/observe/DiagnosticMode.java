package org.camelopenaiproxy.observe;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.camelopenaiproxy.request.DiagnosticCapture;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.StreamingBody;
import org.camelopenaiproxy.secrets.Redactor;

/**
 * Step {@code diagnosticMode}: when {@code config/diagnostics.yaml} asks for bodies (for this caller),
 * keeps the request body for the access log, and the relay then keeps the answer's. The key the
 * client presented, the upstream keys and the configured patterns are masked when the line is
 * written. Does nothing (one volatile read) while diagnostic mode is off.
 */
public class DiagnosticMode implements Processor {

    private final Supplier<Diagnostics> settings;
    private final Supplier<List<String>> upstreamKeys;

    public DiagnosticMode(Supplier<Diagnostics> settings, Supplier<List<String>> upstreamKeys) {
        this.settings = settings;
        this.upstreamKeys = upstreamKeys;
    }

    @Override
    public void process(Exchange exchange) {
        Diagnostics now = settings.get();
        ProxyRequest request = ProxyRequest.of(exchange);
        if (!now.capture(request.client() == null ? null : request.client().name())) {
            return;
        }
        List<String> secrets = new ArrayList<>(upstreamKeys.get());
        if (request.request() != null) {
            UpstreamErrorRedactor.presentedKeys(request.request().headers(), secrets);
        }
        DiagnosticCapture capture = new DiagnosticCapture(now.maxBodyBytes(), new Redactor(secrets, now.redact()));
        Object body = exchange.getMessage().getBody();
        if (body instanceof Buffer buffer) {
            capture.requestBody(buffer);
        } else if (body instanceof StreamingBody streaming) {
            capture.requestBodyStreamed(streaming.length());
        }
        request.diagnostics(capture);
    }
}
