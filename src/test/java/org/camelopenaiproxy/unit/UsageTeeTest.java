package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;

import io.vertx.core.buffer.Buffer;
import org.camelopenaiproxy.relay.UsageTee;
import org.camelopenaiproxy.request.Usage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class UsageTeeTest {

    static void feedInPieces(UsageTee tee, String text, int piece) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += piece) {
            tee.accept(Buffer.buffer().appendBytes(bytes, i, Math.min(piece, bytes.length - i)));
        }
    }

    @Test
    void reads_usage_from_a_json_answer_split_in_chunks() {
        UsageTee tee = new UsageTee("application/json; charset=utf-8");
        feedInPieces(tee, "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"usage\"}}],"
                + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}", 5);
        assertEquals(new Usage(12, 7), tee.usage());
    }

    @Test
    void reads_the_final_chat_chunk_usage_across_chunk_boundaries_and_counts_events() {
        UsageTee tee = new UsageTee("text/event-stream");
        String stream = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                + "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}],\"usage\":null}\n\n"
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
                + "data: [DONE]\n\n";
        feedInPieces(tee, stream, 7);
        assertEquals(new Usage(9, 2), tee.usage());
        assertEquals(3, tee.events());
    }

    @Test
    void reads_responses_api_usage_from_response_completed() {
        UsageTee tee = new UsageTee("text/event-stream");
        feedInPieces(tee, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}\n\n"
                + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\","
                + "\"usage\":{\"input_tokens\":30,\"output_tokens\":5,\"total_tokens\":35}}}\n\n", 11);
        assertEquals(new Usage(30, 5), tee.usage());
    }

    @Test
    void binary_answers_are_not_read() {
        UsageTee tee = new UsageTee("audio/mpeg");
        tee.accept(Buffer.buffer("{\"usage\":{\"prompt_tokens\":1}}"));
        assertNull(tee.usage());
    }
}
