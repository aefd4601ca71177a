package org.camelopenaiproxy.support;

import java.net.http.HttpResponse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks that a response is an OpenAI-shaped error with the given status and code. */
public final class OpenAiErrorAssert {

    private static final ObjectMapper JSON = new ObjectMapper();

    private OpenAiErrorAssert() {
    }

    public static JsonNode assertOpenAiError(HttpResponse<String> response, int status, String code) throws Exception {
        assertEquals(status, response.statusCode(), () -> "body: " + response.body());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertTrue(error != null && error.isObject(), "no error object in " + response.body());
        for (String field : new String[] {"message", "type", "param", "code"}) {
            assertTrue(error.has(field), "error lacks '" + field + "': " + response.body());
        }
        assertFalse(error.get("message").asText().isBlank());
        assertEquals(code, error.get("code").asText());
        assertFalse(response.body().contains("Exception"), "stack trace leaked: " + response.body());
        return error;
    }
}
