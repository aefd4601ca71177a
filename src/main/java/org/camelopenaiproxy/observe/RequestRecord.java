package org.camelopenaiproxy.observe;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.camelopenaiproxy.request.DiagnosticCapture;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.RequestFacts;
import org.camelopenaiproxy.request.SessionStats;

/**
 * One finished request as one JSON line: the access-log line and the body of the usage/audit event.
 * Fields: {@code time, request_id, upstream_request_id, key, method, endpoint, model,
 * requested_model, status, outcome, error, latency_ms, ttft_ms, tokens_in, tokens_out, deployment,
 * attempts, cache, stream}, for a WebSocket session {@code session} (duration, frames and bytes each way,
 * who closed it and the close code), and in diagnostic mode {@code request_body, response_body} (redacted).
 * Never a key, never a body outside diagnostic mode.
 */
public final class RequestRecord {

    private static final JsonFactory JSON = new JsonFactory();

    private RequestRecord() {
    }

    public static String json(ProxyRequest request, Outcome outcome, long endNanos) {
        StringWriter out = new StringWriter(384);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            RequestFacts facts = request.facts();
            g.writeStartObject();
            g.writeStringField("time", isoInstant(Instant.now()));
            g.writeStringField("request_id", request.requestId());
            if (request.upstreamRequestId() != null) {
                g.writeStringField("upstream_request_id", request.upstreamRequestId());
            }
            g.writeStringField("key", request.client() == null ? null : request.client().name());
            g.writeStringField("method", request.request().method().name());
            g.writeStringField("endpoint", request.path());
            g.writeStringField("model", facts.model());
            if (facts.requestedModel() != null && !facts.requestedModel().equals(facts.model())) {
                g.writeStringField("requested_model", facts.requestedModel());
            }
            g.writeNumberField("status", outcome.status());
            g.writeStringField("outcome", outcomeOf(request, outcome));
            if (request.error() != null) {
                g.writeStringField("error", request.error().code() != null ? request.error().code() : request.error().type());
            }
            g.writeNumberField("latency_ms", millis(endNanos - request.startNanos()));
            if (request.firstByteNanos() > 0) {
                g.writeNumberField("ttft_ms", millis(request.firstByteNanos() - request.startNanos()));
            }
            if (outcome.usage() != null) {
                g.writeNumberField("tokens_in", outcome.usage().promptTokens());
                g.writeNumberField("tokens_out", outcome.usage().completionTokens());
            }
            SessionStats session = request.session();
            g.writeStringField("deployment", request.deployment() != null ? request.deployment()
                    : session != null ? session.deployment() : null);
            g.writeNumberField("attempts", request.attempts().size());
            g.writeStringField("cache", request.cacheStatus());
            g.writeBooleanField("stream", facts.stream());
            if (session != null) {
                g.writeObjectFieldStart("session");
                g.writeNumberField("duration_ms", session.durationMillis());
                g.writeNumberField("frames_to_upstream", session.framesToUpstream());
                g.writeNumberField("bytes_to_upstream", session.bytesToUpstream());
                g.writeNumberField("frames_to_client", session.framesToClient());
                g.writeNumberField("bytes_to_client", session.bytesToClient());
                g.writeStringField("closed_by", session.closedBy());
                if (session.closeCode() != null) {
                    g.writeNumberField("close_code", session.closeCode());
                }
                g.writeEndObject();
            }
            DiagnosticCapture diagnostics = request.diagnostics();
            if (diagnostics != null) {
                g.writeStringField("request_body", diagnostics.requestBody());
                g.writeStringField("response_body", diagnostics.responseBody());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** {@code completed}, {@code error} (the proxy or upstream refused), or why it ended early. */
    static String outcomeOf(ProxyRequest request, Outcome outcome) {
        if (request.endedBy() != null) {
            return request.endedBy();
        }
        return outcome.status() >= 400 ? "error" : "completed";
    }

    /** The second being written, formatted once: {@code 2026-12-07T01:58:26}. */
    private record Second(long epochSecond, String text) {
    }

    private static volatile Second second = new Second(Long.MIN_VALUE, "");

    /**
     * Exactly {@link Instant#toString()} (ISO-8601, fraction in groups of 3 digits, none when 0),
     * with the date and time of day formatted once per second instead of once per request: the
     * formatter cost more than the rest of the line.
     */
    public static String isoInstant(Instant now) {
        Second s = second;
        if (s.epochSecond() != now.getEpochSecond()) {
            String whole = Instant.ofEpochSecond(now.getEpochSecond()).toString(); // ...:ssZ
            s = new Second(now.getEpochSecond(), whole.substring(0, whole.length() - 1));
            second = s;
        }
        int nano = now.getNano();
        StringBuilder out = new StringBuilder(s.text().length() + 11).append(s.text());
        if (nano > 0) {
            int digits;
            int value;
            if (nano % 1_000_000 == 0) {
                digits = 3;
                value = nano / 1_000_000;
            } else if (nano % 1_000 == 0) {
                digits = 6;
                value = nano / 1_000;
            } else {
                digits = 9;
                value = nano;
            }
            out.append('.');
            String v = Integer.toString(value);
            for (int i = v.length(); i < digits; i++) {
                out.append('0');
            }
            out.append(v);
        }
        return out.append('Z').toString();
    }

    private static double millis(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }
}
