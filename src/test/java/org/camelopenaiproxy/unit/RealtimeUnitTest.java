package org.camelopenaiproxy.unit;

import java.util.List;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import org.camelopenaiproxy.request.SessionStats;
import org.camelopenaiproxy.request.Subprotocols;
import org.camelopenaiproxy.request.Usage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The Realtime pieces that need no server: subprotocol offers, session statistics and usage. */
class RealtimeUnitTest {

    @Test
    void the_browser_key_is_taken_out_of_the_subprotocol_offer() {
        Subprotocols offer = Subprotocols.parse("realtime, openai-insecure-api-key.sk-abc.def ,openai-beta.realtime-v1");
        assertEquals("sk-abc.def", offer.apiKey());
        assertEquals(List.of("realtime", "openai-beta.realtime-v1"), offer.forwarded());
        assertFalse(offer.toString().contains("sk-abc"));
        assertNull(Subprotocols.parse(null).apiKey());
        assertEquals(List.of(), Subprotocols.parse(null).forwarded());
        assertNull(Subprotocols.parse("openai-insecure-api-key.").apiKey());
    }

    private static void toClient(SessionStats stats, String text) {
        stats.toClient(WebSocketFrame.textFrame(text, true));
    }

    private static void toUpstream(SessionStats stats, WebSocketFrame frame) {
        stats.toUpstream(frame);
    }

    @Test
    void usage_is_summed_over_response_done_events_only() throws Exception {
        SessionStats stats = new SessionStats("d");
        toClient(stats, "{\"type\":\"session.created\",\"session\":{\"usage\":{\"input_tokens\":999}}}");
        toClient(stats, "{\"type\":\"response.audio.delta\",\"delta\":\"AAAA\"}");
        assertNull(stats.usage());
        toClient(stats, "{\"type\":\"response.done\",\"event_id\":\"e1\",\"response\":{\"id\":\"r1\",\"output\":[{\"x\":[1,2]}],"
                        + "\"usage\":{\"total_tokens\":30,\"input_tokens\":20,\"output_tokens\":10,"
                        + "\"input_token_details\":{\"cached_tokens\":0,\"text_tokens\":5,\"audio_tokens\":15}}}}");
        toClient(stats, "{\"type\":\"response.done\",\"response\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}}");
        toClient(stats, "{\"type\":\"response.done\",\"response\":{\"status\":\"cancelled\"}}");
        toClient(stats, "not json at all");
        assertEquals(new Usage(27, 13), stats.usage());
        assertEquals(3, stats.responses());
        assertEquals(6, stats.framesToClient());

        toUpstream(stats, WebSocketFrame.binaryFrame(Buffer.buffer(new byte[100]), true));
        toUpstream(stats, WebSocketFrame.textFrame("{}", true));
        assertEquals(2, stats.framesToUpstream());
        assertEquals(102, stats.bytesToUpstream());
    }
}
