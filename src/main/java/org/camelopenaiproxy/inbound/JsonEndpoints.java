package org.camelopenaiproxy.inbound;

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

    /** Whether {@code contentType} says JSON ({@code application/json}, {@code *+json}). */
    public static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String type = mediaType(contentType);
        return type.equals("application/json") || type.endsWith("+json");
    }

    /** The media type of a Content-Type, lower case, without parameters. */
    private static String mediaType(String contentType) {
        String type = contentType.toLowerCase(Locale.ROOT).trim();
        int semicolon = type.indexOf(';');
        return semicolon < 0 ? type : type.substring(0, semicolon).trim();
    }

    /**
     * Whether a body sent to {@code path} with {@code contentType} must be read whole before it is
     * forwarded: a JSON body (any endpoint: assistants, fine-tuning jobs... name models too), or one
     * of an endpoint that runs on the model it names (audio uploads).
     */
    public static boolean inspectedWhole(String path, String contentType) {
        return jsonOnly(path) || modelRequired(path) || isJson(contentType);
    }

    public static boolean acceptedContentType(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return true;
        }
        return isJson(contentType) || mediaType(contentType).equals("application/x-www-form-urlencoded");
    }
}
