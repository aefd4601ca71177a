package org.camelopenaiproxy.inbound;

import java.util.Set;

import org.camelopenaiproxy.request.AsciiCase;

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
        int start = mediaTypeStart(contentType);
        int end = mediaTypeEnd(contentType, start);
        return mediaTypeIs(contentType, start, end, "application/json")
                || (end - start >= 5 && AsciiCase.regionMatches(contentType, end - 5, "+json"));
    }

    /*
     * The media type of a Content-Type, without parameters, is the region [start, end): trimmed,
     * up to the first ';', trimmed again. Compared in place without case (no lower-cased copy per
     * request).
     */
    private static int mediaTypeStart(String contentType) {
        int start = 0;
        while (start < contentType.length() && contentType.charAt(start) <= ' ') {
            start++;
        }
        return start;
    }

    private static int mediaTypeEnd(String contentType, int start) {
        int semicolon = contentType.indexOf(';', start);
        int end = semicolon < 0 ? contentType.length() : semicolon;
        while (end > start && contentType.charAt(end - 1) <= ' ') {
            end--;
        }
        return end;
    }

    private static boolean mediaTypeIs(String contentType, int start, int end, String lower) {
        return end - start == lower.length() && AsciiCase.regionMatches(contentType, start, lower);
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
        int start = mediaTypeStart(contentType);
        return isJson(contentType)
                || mediaTypeIs(contentType, start, mediaTypeEnd(contentType, start), "application/x-www-form-urlencoded");
    }
}
