package org.camelopenaiproxy.upstream;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;

/**
 * An upstream answer whose head has arrived and whose body has not been read yet (the response is
 * paused). The exchange ends holding this; the body is relayed to the client outside the exchange.
 */
public final class UpstreamResponse {

    private final Vertx vertx;
    private final HttpClientRequest request;
    private final HttpClientResponse response;
    private final long totalTimerId;

    public UpstreamResponse(Vertx vertx, HttpClientRequest request, HttpClientResponse response, long totalTimerId) {
        this.vertx = vertx;
        this.request = request;
        this.response = response;
        this.totalTimerId = totalTimerId;
    }

    public HttpClientRequest request() {
        return request;
    }

    public HttpClientResponse response() {
        return response;
    }

    public int status() {
        return response.statusCode();
    }

    /** The body has been relayed or abandoned: the total timeout no longer applies. */
    public void finished() {
        if (totalTimerId >= 0) {
            vertx.cancelTimer(totalTimerId);
        }
    }

    /** Abandons the answer and the upstream connection (no more tokens spent). */
    public void cancel() {
        finished();
        request.reset();
    }
}
