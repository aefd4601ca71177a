package org.camelopenaiproxy.upstream;

import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;

/**
 * An upstream answer whose head has arrived and whose body has not been read yet (the response is
 * paused). The exchange ends holding this; the body is relayed to the client outside the exchange.
 */
public record UpstreamResponse(HttpClientRequest request, HttpClientResponse response) {

    /** Abandons the answer and the upstream connection (no more tokens spent). */
    public void cancel() {
        request.reset();
    }
}
