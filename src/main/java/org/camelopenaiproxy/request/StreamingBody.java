package org.camelopenaiproxy.request;

import io.vertx.core.http.HttpServerRequest;

/** A request body too large to hold in memory: still unread in the paused client request. */
public record StreamingBody(HttpServerRequest source, long length) {
}
