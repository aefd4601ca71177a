package org.camelopenaiproxy.inbound;


/**
 * The largest body each endpoint takes, mirroring OpenAI's own limits: JSON endpoints
 * {@code proxy.limits.max-json-bytes} (they are always read whole and inspected), audio
 * transcriptions and translations {@code proxy.limits.max-audio-bytes} (OpenAI: 26,214,400 bytes),
 * file uploads {@code proxy.limits.max-file-bytes} (512 MiB), upload parts
 * {@code proxy.limits.max-upload-part-bytes} (64 MiB), anything else {@code proxy.max-request-bytes}.
 */
public record BodyLimits(long maxRequestBytes, long maxJsonBytes, long maxAudioBytes, long maxFileBytes,
        long maxUploadPartBytes) {

    /** The cap for a body sent to {@code path}. */
    public long maxBytes(String path, String contentType) {
        if (JsonEndpoints.jsonOnly(path)) {
            return maxJsonBytes;
        }
        if (JsonEndpoints.isJson(contentType)) {
            return Math.min(maxJsonBytes, maxBytes(path, null)); // a JSON body anywhere is read whole
        }
        if (path.equals("/v1/audio/transcriptions") || path.equals("/v1/audio/translations")) {
            return maxAudioBytes;
        }
        if (path.equals("/v1/files")) {
            return maxFileBytes;
        }
        if (path.startsWith("/v1/uploads/") && path.endsWith("/parts")) {
            return maxUploadPartBytes;
        }
        return maxRequestBytes;
    }
}
