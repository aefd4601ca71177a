package org.camelopenaiproxy.upstream;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/**
 * An upstream's own error answer (429, 5xx), kept so that the client gets it when no attempt
 * succeeds: its status, the headers a client may see ({@code Retry-After}, {@code retry-after-ms},
 * {@code x-ratelimit-*}, ...: {@link UpstreamHeaders#TO_CLIENT}), and its body; headers and body
 * already masked like any upstream error.
 */
public record UpstreamAnswer(int status, MultiMap headers, Buffer body) {
}
