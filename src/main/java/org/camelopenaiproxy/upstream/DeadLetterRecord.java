package org.camelopenaiproxy.upstream;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.observe.UpstreamErrorRedactor;
import org.camelopenaiproxy.request.Attempt;
import org.camelopenaiproxy.request.ProxyRequest;

/**
 * Step {@code deadLetterRecord} of route {@code dead-letter}: turns a request that failed after all
 * attempts into one JSON line: time, request id, key name (never the key), endpoint, model, every
 * attempt (deployment, status or error, duration) and, unless {@code proxy.dead-letter.include-body}
 * is false, the request body (text, or base64 when it is not UTF-8). The line goes to the exchange
 * property {@link #LINE}, for the sink. Secrets are masked in the body and the messages (the upstream
 * keys, the key the client presented, {@code sk-...} and {@code Bearer} patterns). Only requests whose
 * client got a 5xx are recorded (the upstream's last 5xx, or the proxy's 502/504 when no upstream
 * answered): a final 429 is the client's to retry, and a request the proxy refused itself (no
 * deployment serves the model) is not a lost request.
 */
public class DeadLetterRecord implements Processor {

    /** Exchange property holding the JSON line for the sink. */
    public static final String LINE = "proxy.dead-letter.line";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final boolean includeBody;
    private final UpstreamErrorRedactor redactor;

    public DeadLetterRecord(boolean includeBody, UpstreamErrorRedactor redactor) {
        this.includeBody = includeBody;
        this.redactor = redactor;
    }

    @Override
    public void process(Exchange exchange) throws JsonProcessingException {
        ProxyRequest request = ProxyRequest.of(exchange);
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (!(failure instanceof UpstreamFailure)) {
            return;
        }
        ProxyException error = OpenAiError.from(failure);
        if (error.status() < 500) {
            return; // the client got the upstream's 429 (or another 4xx): its SDK retries, nothing was lost here
        }
        Object body = exchange.getMessage().getBody();
        String line = line(request, exchange.getMessage().getHeader(Exchange.HTTP_METHOD, String.class), error.status(),
                error.getMessage(), request.upstream().lastErrorBody(),
                body instanceof Buffer buffer ? buffer : null);
        if (line != null) {
            exchange.setProperty(LINE, line);
        }
    }

    /**
     * The record of a request whose client got a 5xx or a stream cut by an error event, or
     * {@code null} when the request has one already (exactly one per request).
     */
    public String line(ProxyRequest request, String method, int status, String message, String upstreamError,
            Buffer body) throws JsonProcessingException {
        if (request.deadLettered()) {
            return null;
        }
        org.camelopenaiproxy.secrets.Redactor secrets = redactor.redactorFor(request);
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("time", Instant.now().toString());
        record.put("request_id", request.requestId());
        record.put("key", request.client() == null ? null : request.client().name());
        record.put("method", method);
        record.put("endpoint", request.path());
        record.put("model", request.facts().model());
        record.put("status", status);
        record.put("error", secrets.redact(message));
        List<Map<String, Object>> attempts = new ArrayList<>();
        for (Attempt a : request.attempts()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("deployment", a.deployment());
            if (a.status() > 0) {
                m.put("status", a.status());
            }
            if (a.error() != null) {
                m.put("error", secrets.redact(a.error()));
            }
            m.put("duration_ms", a.durationMs());
            attempts.add(m);
        }
        record.put("attempts", attempts);
        if (upstreamError != null && !upstreamError.isEmpty()) {
            // what the upstream said last (already masked), cut so one record stays one short line
            record.put("upstream_error", upstreamError.length() > 2048 ? upstreamError.substring(0, 2048) : upstreamError);
        }
        if (includeBody && body != null) {
            byte[] bytes = body.getBytes();
            try {
                record.put("body", secrets.redact(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString()));
            } catch (CharacterCodingException binary) {
                record.put("body_base64", Base64.getEncoder().encodeToString(bytes));
            }
        }
        request.markDeadLettered();
        return JSON.writeValueAsString(record);
    }
}
