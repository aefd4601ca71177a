package org.camelopenaiproxy.request;

import org.camelopenaiproxy.usage.Usage;

/**
 * How a request ended: the status the client got (499 when it left first), the upstream's usage
 * when the answer carried one, and how many SSE data events were relayed.
 */
public record Outcome(int status, Usage usage, int events) {

    public boolean succeeded() {
        return status >= 200 && status < 300;
    }
}
