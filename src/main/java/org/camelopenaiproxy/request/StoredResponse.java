package org.camelopenaiproxy.request;

import java.util.List;
import java.util.Map;

/**
 * A complete answer kept for replay: status, the headers the client got (minus per-request ones),
 * and the body bytes. An SSE answer keeps its event stream as sent and is replayed as a stream.
 */
public record StoredResponse(int status, List<Map.Entry<String, String>> headers, byte[] body, boolean eventStream) {

    public int weight() {
        return body.length + 64 * headers.size() + 64;
    }
}
