package org.camelopenaiproxy.unit;

import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import org.camelopenaiproxy.observe.EndpointLabel;
import org.camelopenaiproxy.observe.RequestRecord;
import org.camelopenaiproxy.upstream.RetryBudget;
import org.camelopenaiproxy.upstream.RetryPolicy;
import org.camelopenaiproxy.upstream.UpstreamHeaders;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The hot path's allocation-free format and comparison give exactly what the plain JDK calls they
 * replace gave: the access log's {@code time} ({@link Instant#toString()}) and the header
 * allow-lists' case-insensitive name matches ({@code toLowerCase(Locale.ROOT)}), the endpoint
 * label (remembered for the last path), the retry statuses (a table instead of a set of boxed ints).
 */
class HotPathFormatsTest {

    @Test
    void the_access_log_time_is_instant_to_string() {
        long[] seconds = {0, 1_733_536_706L, 1_733_536_707L, -1, 253_402_300_799L, 253_402_300_800L, 1_733_536_706L};
        int[] nanos = {0, 1, 999, 1_000, 1_000_000, 10_000_000, 100_000_000, 123_000_000, 123_456_000, 123_456_789,
            999_999_999, 5_000, 5_000_001, 100, 123_456_700, 20};
        for (long s : seconds) {
            for (int n : nanos) {
                Instant at = Instant.ofEpochSecond(s, n);
                assertEquals(at.toString(), RequestRecord.isoInstant(at), at::toString);
            }
        }
        Instant now = Instant.now(); // the clock's own precision (microseconds on Linux)
        assertEquals(now.toString(), RequestRecord.isoInstant(now));
    }

    @Test
    void header_names_cross_the_boundary_whatever_their_case_as_when_lower_cased() {
        String[] names = {"Content-Type", "content-type", "CONTENT-TYPE", "Content-Typ", "Content-Types", "OpenAI-Beta",
            "openai-", "openai", "X-Stainless-Lang", "x-\u017Ftainless-lang", "X-RateLimit-Limit", "\u0130penai-x",
            "Retry-After-Ms", "X-Request-ID", "x-request-idx", "Accept", "Accept-Encoding", "Set-Cookie"};
        for (String name : names) {
            String lower = name.toLowerCase(Locale.ROOT);
            if (name.chars().allMatch(c -> c < 0x80)) { // Vert.x refuses other header names itself
                MultiMap toClient = HttpHeaders.headers();
                UpstreamHeaders.toClient(HttpHeaders.headers().add(name, "v"), toClient);
                assertEquals(UpstreamHeaders.TO_CLIENT.contains(lower) || Arrays.stream(UpstreamHeaders.TO_CLIENT_PREFIXES)
                        .anyMatch(lower::startsWith), toClient.contains(name), "to the client: " + name);
            }
            MultiMap toUpstream = HttpHeaders.headers();
            UpstreamHeaders.toUpstream(Map.of(name, "v"), toUpstream);
            assertEquals(UpstreamHeaders.TO_UPSTREAM.contains(lower) || Arrays.stream(UpstreamHeaders.TO_UPSTREAM_PREFIXES)
                    .anyMatch(lower::startsWith), toUpstream.contains(name), "to the upstream: " + name);
        }
    }

    @Test
    void the_endpoint_label_is_the_same_whatever_path_came_before() {
        String[][] cases = {
            {"/v1/chat/completions", "/v1/chat/completions"},
            {"/v1/files/file-abc/content", "/v1/files/{id}/content"},
            {"/v1/files/file-xyz/content", "/v1/files/{id}/content"},
            {"/v1/chat/completions", "/v1/chat/completions"},
            {"/v1/chat/completions", "/v1/chat/completions"},
            {"/v1/nonsense", EndpointLabel.OTHER},
            {"/v2/chat/completions", EndpointLabel.OTHER},
            {"/v1/models/gpt-4o", "/v1/models/{id}"},
            {"/v1/embeddings", "/v1/embeddings"},
            {"/v1/nonsense", EndpointLabel.OTHER},
        };
        for (String[] c : cases) {
            assertEquals(c[1], EndpointLabel.of(c[0]), c[0]);
        }
        assertEquals(EndpointLabel.OTHER, EndpointLabel.of(null));
        assertEquals(EndpointLabel.OTHER, EndpointLabel.of(""));
    }

    @Test
    void retry_statuses_are_exactly_those_configured() {
        Set<Integer> configured = Set.of(429, 500, 502, 503, 504);
        RetryPolicy policy = new RetryPolicy(3, 1_000, 10_000, configured, new RetryBudget(20, 3), null);
        for (int status = -1; status <= 1_000; status++) {
            assertEquals(configured.contains(status), policy.retryableStatus(status), "status " + status);
        }
        assertFalse(new RetryPolicy(3, 1_000, 10_000, Set.of(), new RetryBudget(20, 3), null).retryableStatus(500));
    }
}
