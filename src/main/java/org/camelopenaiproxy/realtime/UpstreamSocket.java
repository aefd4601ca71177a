package org.camelopenaiproxy.realtime;

import io.vertx.core.MultiMap;
import io.vertx.core.http.WebSocket;
import org.camelopenaiproxy.upstream.Deployment;

/**
 * The body of a {@code realtime} exchange whose upstream accepted the WebSocket: the open (paused)
 * upstream socket, the deployment it belongs to, and the headers of the upstream's 101 answer.
 */
public record UpstreamSocket(WebSocket socket, Deployment deployment, MultiMap handshakeHeaders) {
}
