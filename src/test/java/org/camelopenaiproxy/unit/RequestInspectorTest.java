package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.pipeline.policy.RequestInspector;
import org.camelopenaiproxy.request.ClientKey;
import org.camelopenaiproxy.request.Limits;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.RequestFacts;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestInspectorTest {

    static final ClientKey KEY = new ClientKey("k", "0".repeat(64), null, null, null, false, Limits.NONE,
            Map.of("mine", "gpt-4.1"), null, null);

    static Exchange exchange(String body) {
        return exchange("/v1/chat/completions", body);
    }

    static Exchange exchange(String path, String body) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        ProxyRequest request = new ProxyRequest(null, path, 0);
        request.client(KEY);
        exchange.setProperty(ProxyRequest.PROPERTY, request);
        exchange.getMessage().setBody(Buffer.buffer(body));
        return exchange;
    }

    static RequestFacts inspect(Exchange exchange) {
        new RequestInspector(() -> Map.of("fast", "gpt-4o-mini", "quote", "we\"ird")).process(exchange);
        return ProxyRequest.of(exchange).facts();
    }

    static String body(Exchange exchange) {
        return ((Buffer) exchange.getMessage().getBody()).toString(StandardCharsets.UTF_8);
    }

    @Test
    void reads_model_output_cap_and_stream_flags() {
        RequestFacts facts = inspect(exchange("{\"messages\":[{\"content\":\"{\\\"model\\\":1}\"}],\"model\":\"gpt-4o\","
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_completion_tokens\":256}"));
        assertEquals("gpt-4o", facts.model());
        assertEquals(256L, facts.maxOutputTokens());
        assertTrue(facts.stream());
        assertTrue(facts.includeUsage());
    }

    @Test
    void a_key_alias_wins_over_a_global_one_and_only_the_value_changes() {
        Exchange e = exchange("{\"model\": \"mine\" ,\"x\":\"mine\"}");
        RequestFacts facts = inspect(e);
        assertEquals("mine", facts.requestedModel());
        assertEquals("gpt-4.1", facts.model());
        assertEquals("{\"model\": \"gpt-4.1\" ,\"x\":\"mine\"}", body(e));
    }

    @Test
    void alias_targets_are_json_escaped() {
        Exchange e = exchange("{\"model\":\"quote\"}");
        inspect(e);
        assertEquals("{\"model\":\"we\\\"ird\"}", body(e));
    }

    @Test
    void bodies_without_a_model_or_not_json_are_left_alone() {
        Exchange noModel = exchange("{\"input\":\"fast\"}");
        assertNull(inspect(noModel).model());
        assertEquals("{\"input\":\"fast\"}", body(noModel));
        Exchange binary = exchange("/v1/files", "not json, model fast");
        assertNull(inspect(binary).model());
        assertEquals("not json, model fast", body(binary));
    }

    @Test
    void a_json_endpoint_refuses_what_is_not_one_json_object_with_one_model() {
        for (String body : new String[] {"not json", "{\"model\":", "[1]", "{\"a\":1} x",
            "{\"model\":\"a\",\"model\":\"b\"}"}) {
            org.camelopenaiproxy.errors.ProxyException e = org.junit.jupiter.api.Assertions.assertThrows(
                    org.camelopenaiproxy.errors.ProxyException.class, () -> inspect(exchange(body)), body);
            assertEquals(400, e.status());
            assertEquals("invalid_json", e.code());
        }
    }

    @Test
    void globs_match_whole_names() {
        List<Glob> globs = List.of(Glob.of("gpt-4o*"), Glob.of("o?"));
        assertTrue(Glob.anyMatches(globs, "gpt-4o-mini"));
        assertTrue(Glob.anyMatches(globs, "o1"));
        assertFalse(Glob.anyMatches(globs, "my-gpt-4o"));
        assertFalse(Glob.anyMatches(globs, "o1-pro"));
        assertTrue(Glob.anyMatches(null, "anything"));
    }
}
