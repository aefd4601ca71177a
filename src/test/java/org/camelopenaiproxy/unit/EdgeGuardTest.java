package org.camelopenaiproxy.unit;

import org.camelopenaiproxy.inbound.EdgeGuard;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which request paths the edge lets through: only those the proxy and every upstream read alike. */
class EdgeGuardTest {

    @ParameterizedTest
    @ValueSource(strings = {"/v1/chat/completions", "/v1/files/file-abc123/content", "/v1/models/gpt-4o%3Alatest",
        "/observe/health", "/v1/uploads/upload_1/parts", "/v1/.well-known", "/v1/a..b/c", "/v1/files/x.", "/v1/..x",
        "/v1/a%2g", "/v1/a%3A"})
    void a_plain_path_passes(String path) {
        assertTrue(EdgeGuard.safePath(path), path);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "v1/models", "/v1//models", "/v1/../admin", "/v1/./models", "/v1/..", "/v1/%2e%2e/x",
        "/v1/%2E%2E/x", "/v1/a%2fb", "/v1/a%2Fb", "/v1/a%5cb", "/v1/a%25 2e", "/v1/a%252e", "/v1/a%00", "/v1/a%",
        "/v1/a%2", "/v1\\..\\admin", "/v1/models;x=1", "/v1/mo dels", "/v1/mo\tdels", "/v1/caf\u00e9", "/v1/\u007f",
        "/v1/.", "/./v1", "/..", "/v1/%2E", "/v1/a%5Cb", "/v1/a%2fb/..", "/v1/%2e./x"})
    void a_path_that_could_mean_something_else_is_refused(String path) {
        assertFalse(EdgeGuard.safePath(path), path);
    }
}
