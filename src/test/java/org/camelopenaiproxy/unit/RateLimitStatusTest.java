package org.camelopenaiproxy.unit;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import org.camelopenaiproxy.request.RateLimitStatus;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class RateLimitStatusTest {

    static final long MS = 1_000_000L;

    @Test
    void durations_use_openai_format() {
        assertEquals("0ms", RateLimitStatus.duration(0));
        assertEquals("20ms", RateLimitStatus.duration(20 * MS));
        assertEquals("1s", RateLimitStatus.duration(1000 * MS));
        assertEquals("1.5s", RateLimitStatus.duration(1500 * MS));
        assertEquals("12.04s", RateLimitStatus.duration(12_040 * MS));
        assertEquals("6m0s", RateLimitStatus.duration(360_000 * MS));
        assertEquals("1h2m3s", RateLimitStatus.duration(3_723_000 * MS));
    }

    @Test
    void replaces_upstream_headers_and_reports_only_limited_dimensions() {
        MultiMap headers = HttpHeaders.headers().add("X-RateLimit-Limit-Requests", "10000")
                .add("x-ratelimit-limit-tokens", "2000000").add("content-type", "application/json");
        new RateLimitStatus(60, 59, 1000 * MS, -1, -1, 0).writeTo(headers);
        assertEquals("60", headers.get("x-ratelimit-limit-requests"));
        assertEquals("59", headers.get("x-ratelimit-remaining-requests"));
        assertEquals("1s", headers.get("x-ratelimit-reset-requests"));
        assertFalse(headers.contains("x-ratelimit-limit-tokens"));
        assertEquals("application/json", headers.get("content-type"));
    }
}
