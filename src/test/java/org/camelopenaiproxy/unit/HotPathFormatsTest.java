package org.camelopenaiproxy.unit;

import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import org.camelopenaiproxy.observe.RequestRecord;
import org.camelopenaiproxy.upstream.UpstreamHeaders;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The hot path's allocation-free format and comparison give exactly what the plain JDK calls they
 * replace gave: the access log's {@code time} ({@link Instant#toString()}) and the header
 * allow-lists' case-insensitive name matches ({@code toLowerCase(Locale.ROOT)}).
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
}
