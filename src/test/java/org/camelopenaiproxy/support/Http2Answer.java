package org.camelopenaiproxy.support;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One whole answer to a request sent with a Vert.x client (the HTTP/2 tests), and how to get it. */
public record Http2Answer(int status, HttpVersion version, MultiMap headers, Buffer body) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public String text() {
        return body.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return status + " " + version + " " + headers.entries() + "\n" + text();
    }

    /**
     * Opens a request for {@code options}; its answer (head and whole body) completes {@code answer}.
     * The body is asked for in the callback that gets the head: asked for later, an answer that has
     * ended meanwhile is lost (eclipse-vertx/vert.x#5904).
     */
    public static HttpClientRequest open(HttpClient client, RequestOptions options, CompletableFuture<Http2Answer> answer)
            throws Exception {
        HttpClientRequest req = client.request(options).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        req.response().onSuccess(r -> r.body()
                        .onSuccess(b -> answer.complete(new Http2Answer(r.statusCode(), r.version(), r.headers(), b)))
                        .onFailure(answer::completeExceptionally))
                .onFailure(answer::completeExceptionally);
        return req;
    }

    /** An OpenAI-shaped error: this status, JSON, {@code error} with message, type, param and this code. */
    public void assertOpenAiError(int expectedStatus, String code) throws Exception {
        assertEquals(expectedStatus, status, this::toString);
        assertTrue(headers.get("content-type").startsWith("application/json"), this::toString);
        JsonNode error = JSON.readTree(text()).get("error");
        assertNotNull(error, this::toString);
        for (String field : new String[] {"message", "type", "param", "code"}) {
            assertTrue(error.has(field), this::toString);
        }
        assertEquals(code, error.get("code").asText(), this::toString);
    }
}
