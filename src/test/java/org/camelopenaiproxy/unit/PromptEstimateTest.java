package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.camelopenaiproxy.pipeline.policy.PromptEstimate;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptEstimateTest {

    private static long estimate(String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return PromptEstimate.tokens(bytes, bytes.length);
    }

    @Test
    void small_bodies_count_a_token_per_four_bytes() {
        assertEquals(4, estimate("{\"model\":\"x\"}")); // 13 bytes
        assertEquals(0, estimate(""));
    }

    @Test
    void large_text_counts_a_token_per_four_bytes() {
        String body = "{\"input\":\"" + "hello world ".repeat(10_000) + "\"}";
        assertEquals((body.length() + 3) / 4, estimate(body));
    }

    @Test
    void each_inline_attachment_counts_as_one_image_plus_a_token_per_4_kib() {
        String b64 = Base64.getEncoder().encodeToString(new byte[3 * 1024 * 1024]); // 4 MiB of base64
        String body = "{\"a\":\"data:image/png;base64," + b64 + "\",\"b\":\"data:image/jpeg;base64," + b64 + "\"}";
        long textBytes = body.length() - 2L * b64.length();
        long expected = (textBytes + 3) / 4 + 2 * PromptEstimate.TOKENS_PER_ATTACHMENT + 2L * b64.length() / 4096;
        assertEquals(expected, estimate(body));
        assertTrue(estimate(body) < 10_000, "8 MiB of images are thousands of tokens, not millions");
    }

    @Test
    void a_base64_run_just_under_the_threshold_counts_as_text() {
        String run = "A".repeat(PromptEstimate.MIN_BINARY_RUN - 1);
        String body = "{\"t\":\"" + " .".repeat(5000) + run + "\"}";
        assertEquals((body.length() + 3) / 4, estimate(body));
        String longer = "{\"t\":\"" + " .".repeat(5000) + run + "A\"}";
        long textBytes = longer.length() - PromptEstimate.MIN_BINARY_RUN;
        assertEquals((textBytes + 3) / 4 + PromptEstimate.TOKENS_PER_ATTACHMENT, estimate(longer),
                "at the threshold it is an attachment");
    }
}
