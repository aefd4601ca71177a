package org.camelopenaiproxy.request;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/**
 * Copies an answer while it is relayed (never holding it back) so that it can be stored once it
 * completed normally: a 2xx (or, for Idempotency-Key, a 4xx) answer that ended cleanly, not larger
 * than the limit. An answer cut short is dropped.
 */
public final class ResponseRecorder {

    private static final java.util.Set<String> NOT_REPLAYED = java.util.Set.of(
            "x-request-id", "x-proxy-cache", "content-length", "transfer-encoding", "connection");

    private final long maxBytes;
    private StoredResponse answer;
    private int status;
    private List<Map.Entry<String, String>> headers;
    private boolean eventStream;
    private Buffer body = Buffer.buffer();
    private boolean tooLarge;

    public ResponseRecorder(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** The whole answer once it ended normally (and fit), else {@code null}: what the settlements keep. */
    public StoredResponse answer() {
        return answer;
    }

    public void head(int status, MultiMap clientHeaders, boolean eventStream) {
        this.status = status;
        this.eventStream = eventStream;
        this.headers = new ArrayList<>();
        for (Map.Entry<String, String> h : clientHeaders) {
            String lower = h.getKey().toLowerCase(java.util.Locale.ROOT);
            if (!NOT_REPLAYED.contains(lower) && !lower.startsWith("x-ratelimit-")) {
                headers.add(Map.entry(h.getKey(), h.getValue()));
            }
        }
    }

    public void chunk(Buffer chunk) {
        if (tooLarge) {
            return;
        }
        if (body.length() + chunk.length() > maxBytes) {
            tooLarge = true;
            body = null;
            return;
        }
        body.appendBuffer(chunk);
    }

    /** The answer ended normally: it becomes {@link #answer()} for the request's settlements. */
    public void complete() {
        if (tooLarge || headers == null) {
            return;
        }
        answer = new StoredResponse(status, List.copyOf(headers), body.getBytes(), eventStream);
    }

    /** A whole answer made by the proxy (not relayed), e.g. an error: same rules. */
    public void whole(int status, MultiMap clientHeaders, Buffer bytes) {
        head(status, clientHeaders, false);
        chunk(bytes);
        complete();
    }
}
