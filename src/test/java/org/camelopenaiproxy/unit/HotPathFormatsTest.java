package org.camelopenaiproxy.unit;

import java.time.Instant;
import java.util.Locale;

import org.camelopenaiproxy.inbound.JsonEndpoints;
import org.camelopenaiproxy.observe.RequestRecord;
import org.camelopenaiproxy.request.AsciiCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The hot path's allocation-free formats and comparisons give exactly what the plain JDK calls they
 * replace gave: the access log's {@code time} ({@link Instant#toString()}), the content-type checks
 * (lower-cased, trimmed media type) and the case-insensitive header-name matches.
 */
class HotPathFormatsTest {

    @Test
    void the_access_log_time_is_instant_to_string() {
        long[] seconds = {0, 1_733_536_706L, 1_733_536_707L, -1, 253_402_300_799L, 253_402_300_800L, 1_733_536_706L};
        int[] nanos = {0, 1, 999, 1_000, 1_000_000, 10_000_000, 100_000_000, 123_000_000, 123_456_000, 123_456_789,
            999_999_999, 5_000, 5_000_001};
        for (long s : seconds) {
            for (int n : nanos) {
                Instant at = Instant.ofEpochSecond(s, n);
                assertEquals(at.toString(), RequestRecord.isoInstant(at), at::toString);
            }
        }
        Instant now = Instant.now(); // the clock's own precision (microseconds on Linux)
        assertEquals(now.toString(), RequestRecord.isoInstant(now));
    }

    @ParameterizedTest
    @ValueSource(strings = {"application/json", "Application/JSON", " application/json ", "application/json; charset=utf-8",
        "application/json ;charset=utf-8", "application/vnd.api+json", "APPLICATION/VND.API+JSON; x=1", "text/plain",
        "application/jsonx", "application/json-seq", "+json", "json", "", " ", ";", "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded ; charset=utf-8", "multipart/form-data; boundary=x", "\tapplication/json\t",
        "application/\u212Aon", "application/j\u017Fon"})
    void the_content_type_checks_read_the_media_type_as_before(String contentType) {
        String type = contentType.toLowerCase(Locale.ROOT).trim();
        int semicolon = type.indexOf(';');
        String media = semicolon < 0 ? type : type.substring(0, semicolon).trim();
        boolean json = media.equals("application/json") || media.endsWith("+json");
        assertEquals(json, JsonEndpoints.isJson(contentType), contentType);
        assertEquals(contentType.isBlank() || json || media.equals("application/x-www-form-urlencoded"),
                JsonEndpoints.acceptedContentType(contentType), contentType);
    }

    @Test
    void header_names_match_without_case_like_lower_casing_them() {
        String[] names = {"Content-Type", "content-type", "CONTENT-TYPE", "Content-Typ", "Content-Types", "OpenAI-Beta",
            "openai-", "openai", "X-Stainless-Lang", "x-\u017Ftainless-lang", "X-RateLimit-Limit", "\u0130penai-x", ""};
        String[] constants = {"content-type", "openai-", "x-stainless-", "x-ratelimit-"};
        for (String name : names) {
            String lower = name.toLowerCase(Locale.ROOT);
            for (String c : constants) {
                assertEquals(lower.equals(c), AsciiCase.equals(name, c), name + " = " + c);
                assertEquals(lower.startsWith(c), AsciiCase.startsWith(name, c), name + " starts with " + c);
            }
        }
    }
}
