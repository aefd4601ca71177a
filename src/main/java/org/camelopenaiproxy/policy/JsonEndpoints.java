package org.camelopenaiproxy.policy;

import java.util.Locale;
import java.util.Set;

/**
 * The endpoints that take only a JSON object (Chat Completions, Responses, Embeddings, ...): their
 * bodies are checked to be one well-formed JSON object with one {@code model} before anything is
 * forwarded, and their content type must be JSON (or absent, or a form type as {@code curl -d}
 * sends). Multipart endpoints (audio transcriptions, files, uploads) are not on the list.
 */
public final class JsonEndpoints {

    private static final Set<String> JSON_ONLY = Set.of("/v1/chat/completions", "/v1/completions", "/v1/responses",
            "/v1/embeddings", "/v1/moderations", "/v1/images/generations", "/v1/audio/speech", "/v1/batches");

    /** Endpoints whose request names the model it runs on (JSON or multipart). */
    private static final Set<String> MODEL_REQUIRED = Set.of("/v1/chat/completions", "/v1/completions",
            "/v1/responses", "/v1/embeddings", "/v1/images/generations", "/v1/audio/speech",
            "/v1/audio/transcriptions", "/v1/audio/translations");

    private JsonEndpoints() {
    }

    public static boolean jsonOnly(String path) {
        return JSON_ONLY.contains(path);
    }

    /** Whether a request to {@code path} runs on a model it names (so a key limited to models must name one). */
    public static boolean modelRequired(String path) {
        return MODEL_REQUIRED.contains(path);
    }

    public static boolean acceptedContentType(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return true;
        }
        String type = contentType.toLowerCase(Locale.ROOT).trim();
        int semicolon = type.indexOf(';');
        if (semicolon >= 0) {
            type = type.substring(0, semicolon).trim();
        }
        return type.equals("application/json") || type.endsWith("+json")
                || type.equals("application/x-www-form-urlencoded");
    }
}
