package org.camelopenaiproxy.unit;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.errors.ProxyException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpenAiErrorTest {

    @Test
    void maps_failures_to_statuses() {
        assertEquals(502, OpenAiError.from(new ConnectException("refused")).status());
        assertEquals(504, OpenAiError.from(new RuntimeException(new TimeoutException("idle"))).status());
        assertEquals(401, OpenAiError.from(ProxyException.invalidApiKey("no")).status());
        assertEquals(500, OpenAiError.from(new IllegalStateException("bug")).status());
    }

    @Test
    void body_has_the_four_fields_and_no_internals() throws Exception {
        byte[] body = OpenAiError.body(OpenAiError.from(new IllegalStateException("secret detail sk-123")));
        JsonNode error = new ObjectMapper().readTree(body).get("error");
        assertEquals(4, error.size());
        assertTrue(error.has("param") && error.get("param").isNull());
        assertFalse(new String(body, StandardCharsets.UTF_8).contains("sk-123"));
    }

    @Test
    void sse_event_is_one_data_line_and_a_blank_line() {
        String event = new String(OpenAiError.sseEvent(ProxyException.upstreamTimeout("late"), "req_1"), StandardCharsets.UTF_8);
        assertTrue(event.startsWith("data: {\"error\":{"));
        assertTrue(event.endsWith("}}\n\n"));
        assertEquals(1, event.trim().lines().count());
    }
}
