package org.camelopenaiproxy.unit;

import io.vertx.core.MultiMap;
import org.camelopenaiproxy.inbound.CorsPolicy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which origins, methods and request headers a browser may use, and what it is told. */
class CorsPolicyTest {

    static final String METHODS = "GET,POST,DELETE";
    static final String HEADERS = "authorization,content-type,x-stainless-*";

    static CorsPolicy policy(String origins, boolean credentials) {
        return new CorsPolicy(origins, METHODS, HEADERS, 600, credentials);
    }

    @Test
    void no_origins_configured_means_cors_is_off() {
        CorsPolicy off = policy(null, false);
        assertFalse(off.enabled());
        assertFalse(off.allows("https://app.example"));
        assertFalse(policy(" , ", false).enabled(), "blank entries are no origins");
    }

    @Test
    void only_listed_origins_are_allowed_exactly() {
        CorsPolicy p = policy("https://app.example, https://admin.example", false);
        assertTrue(p.allows("https://app.example"));
        assertFalse(p.allows("https://app.example.evil"));
        assertFalse(p.allows("http://app.example"), "the scheme is part of the origin");
        assertFalse(p.allows(null));
        assertTrue(policy("*", false).allows("https://anything.example"));
    }

    @Test
    void an_answer_names_the_origin_and_exposes_the_proxy_headers() {
        MultiMap headers = MultiMap.caseInsensitiveMultiMap();
        policy("https://app.example", false).answer("https://app.example", headers);
        assertEquals("https://app.example", headers.get("Access-Control-Allow-Origin"));
        assertEquals("Origin", headers.get("Vary"));
        assertTrue(headers.get("Access-Control-Expose-Headers").contains("x-ratelimit-remaining-requests"));
        assertTrue(headers.get("Access-Control-Expose-Headers").contains("x-proxy-cache"));
        assertNull(headers.get("Access-Control-Allow-Credentials"));

        MultiMap withCredentials = MultiMap.caseInsensitiveMultiMap();
        policy("https://app.example", true).answer("https://app.example", withCredentials);
        assertEquals("true", withCredentials.get("Access-Control-Allow-Credentials"));
    }

    @Test
    void a_preflight_grants_allowed_methods_and_headers_including_prefixes() {
        MultiMap headers = MultiMap.caseInsensitiveMultiMap();
        assertTrue(policy("https://app.example", false).preflight("https://app.example", "post",
                "Authorization, Content-Type, X-Stainless-Lang, ", headers));
        assertEquals("https://app.example", headers.get("Access-Control-Allow-Origin"));
        assertEquals("authorization, content-type, x-stainless-lang", headers.get("Access-Control-Allow-Headers"));
        assertTrue(headers.get("Access-Control-Allow-Methods").contains("POST"));
        assertEquals("600", headers.get("Access-Control-Max-Age"));
    }

    @Test
    void a_preflight_for_another_method_or_header_is_refused_without_headers() {
        CorsPolicy p = policy("https://app.example", false);
        MultiMap headers = MultiMap.caseInsensitiveMultiMap();
        assertFalse(p.preflight("https://app.example", "PUT", null, headers));
        assertFalse(p.preflight("https://app.example", null, null, headers));
        assertFalse(p.preflight("https://app.example", "POST", "content-type, x-secret", headers));
        assertTrue(headers.isEmpty(), "a refused preflight gets no CORS headers: " + headers);
        assertTrue(p.preflight("https://app.example", "GET", null, headers), "no headers requested is fine");
        assertNull(headers.get("Access-Control-Allow-Headers"));
    }

    @Test
    void a_star_allows_any_request_header() {
        MultiMap headers = MultiMap.caseInsensitiveMultiMap();
        assertTrue(new CorsPolicy("*", METHODS, "*", 60, false).preflight("https://x.example", "POST", "x-anything",
                headers));
        assertEquals("x-anything", headers.get("Access-Control-Allow-Headers"));
    }
}
