package org.camelopenaiproxy.upstream;

import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;

/**
 * An upstream answer whose head has arrived and whose body has not been read yet (the response is
 * paused). The exchange ends holding this; the body is relayed to the client outside the exchange.
 * A failure that happens before the relay starts (a broken first chunk) is kept for the relay.
 */
public final class UpstreamResponse {

    private final HttpClientRequest request;
    private final HttpClientResponse response;
    private Throwable earlyFailure;

    public UpstreamResponse(HttpClientRequest request, HttpClientResponse response) {
        this.request = request;
        this.response = response;
        response.exceptionHandler(failure -> earlyFailure = failure);
    }

    public HttpClientRequest request() {
        return request;
    }

    public HttpClientResponse response() {
        return response;
    }

    /** A failure of the answer seen before the relay took over, or {@code null}. */
    public Throwable earlyFailure() {
        return earlyFailure;
    }

    /** Abandons the answer and the upstream connection (no more tokens spent). */
    public void cancel() {
        request.reset();
    }
}
