package org.camelopenaiproxy.support;

import java.util.List;

/**
 * Request paths that try to get around the proxy's path checks (dot segments, encoded slashes and
 * dots, doubled encodings, NUL, matrix parameters, backslashes, a bare %): each must get 400
 * {@code invalid_path} and never reach the upstream, over HTTP/1 (EdgeTest) and HTTP/2
 * (Http2ParityTest) alike.
 */
public final class PathTricks {

    public static final List<String> ALL = List.of("/v1/../v1/chat/completions", "/v1/./chat/completions",
            "/v1//chat/completions", "/v1/chat%2fcompletions", "/v1/%2e%2e/observe/health", "/v1/chat/completions/..",
            "/v1/chat\\completions", "/v1/chat/completions;x=1", "/v1/%252e%252e/x", "/v1/files/%00",
            "/v1/%2F%2Fevil.example/x", "/v1/files/%");

    private PathTricks() {
    }
}
