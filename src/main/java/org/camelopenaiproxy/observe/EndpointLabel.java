package org.camelopenaiproxy.observe;

import java.util.Set;

/**
 * The endpoint as a metric label: the path's API resource and action words kept, ids replaced by
 * {@code {id}}, anything unknown folded into {@code /v1/other}. The set of values is therefore
 * bounded whatever clients send ({@code /v1/files/file-abc/content} becomes
 * {@code /v1/files/{id}/content}).
 */
public final class EndpointLabel {

    public static final String OTHER = "/v1/other";

    private static final Set<String> RESOURCES = Set.of("chat", "completions", "responses", "embeddings", "models",
            "audio", "images", "files", "uploads", "batches", "moderations", "realtime", "fine_tuning",
            "vector_stores", "assistants", "threads", "evals", "containers", "conversations", "videos");
    private static final Set<String> WORDS = Set.of("completions", "speech", "transcriptions", "translations",
            "generations", "edits", "variations", "content", "parts", "complete", "cancel", "input_items", "jobs",
            "checkpoints", "events", "sessions", "transcription_sessions", "messages", "runs", "steps",
            "file_batches", "files", "client_secrets", "items", "input_tokens", "compact", "results", "pause",
            "resume", "calls", "search", "permissions");
    private static final int MAX_SEGMENTS = 6;

    /** The last path labelled and its label: most traffic is one endpoint, and one compare is cheaper than a split. */
    private static volatile Last last = new Last("", OTHER);

    private record Last(String path, String label) {
    }

    private EndpointLabel() {
    }

    public static String of(String path) {
        if (path == null || !path.startsWith("/v1/")) {
            return OTHER;
        }
        Last recent = last;
        if (path.equals(recent.path())) {
            return recent.label();
        }
        String label = label(path);
        last = new Last(path, label);
        return label;
    }

    private static String label(String path) {
        String[] segments = path.substring(4).split("/", -1);
        if (segments.length == 0 || !RESOURCES.contains(segments[0])) {
            return OTHER;
        }
        StringBuilder label = new StringBuilder(32).append("/v1/").append(segments[0]);
        for (int i = 1; i < segments.length && i < MAX_SEGMENTS; i++) {
            if (segments[i].isEmpty()) {
                continue;
            }
            label.append('/').append(WORDS.contains(segments[i]) ? segments[i] : "{id}");
        }
        return label.toString();
    }
}
