package org.camelopenaiproxy.support;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A plain HTTP client talking to the proxy the way an application would. */
public final class ProxyClient {

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final String base;

    public static final String CHAT = "/v1/chat/completions";

    public ProxyClient(String base) {
        this.base = base;
    }

    public HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20));
    }

    public HttpRequest.Builder authorized(String path) {
        return request(path).header("Authorization", "Bearer " + TestEnv.CLIENT_KEY);
    }

    public HttpResponse<String> postJson(String path, String json) throws Exception {
        return send(authorized(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    /**
     * A JSON POST built on {@code builder} with the client key {@code key} ({@code null}: no
     * {@code Authorization}) and extra headers (name, value pairs).
     */
    public HttpRequest json(HttpRequest.Builder builder, String key, String body, String... headers) {
        if (key != null) {
            builder.header("Authorization", "Bearer " + key);
        }
        builder.header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) {
            builder.header(headers[i], headers[i + 1]);
        }
        return builder.POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    /** POSTs {@code body} to {@code path} with the client key {@code key} and extra headers (name, value pairs). */
    public HttpResponse<String> post(String path, String key, String body, String... headers) throws Exception {
        return send(json(request(path), key, body, headers));
    }

    /** Sends a Chat Completions request with the client key {@code key}. */
    public HttpResponse<String> chat(String key, String body, String... headers) throws Exception {
        return post(CHAT, key, body, headers);
    }

    /** A Chat Completions request with the client key {@code key}, to send later (or in parallel). */
    public HttpRequest chatRequest(String key, String body, String... headers) {
        return json(request(CHAT), key, body, headers);
    }

    public HttpResponse<String> get(String path) throws Exception {
        return send(authorized(path).GET().build());
    }

    public HttpResponse<String> send(HttpRequest request) throws Exception {
        return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    public HttpResponse<byte[]> sendForBytes(HttpRequest request) throws Exception {
        return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    public HttpClient http() {
        return http;
    }
}
