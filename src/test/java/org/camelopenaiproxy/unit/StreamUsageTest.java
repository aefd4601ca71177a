package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.util.List;

import io.vertx.core.buffer.Buffer;
import org.camelopenaiproxy.relay.StreamUsageFilter;
import org.camelopenaiproxy.relay.StreamUsageRequest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Asking for stream usage behind the client's back: the request gets exactly
 * {@code stream_options.include_usage: true} and nothing else changes; the answer loses exactly what
 * that option added, wherever the upstream's chunk boundaries fall.
 */
class StreamUsageTest {

    static final List<String> CHUNKS = List.of(
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"usage \\\"usage\\\": null\"},\"finish_reason\":null}]}",
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
    static final String USAGE_CHUNK =
            "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}";

    /** What the client would have received without include_usage. */
    static String plainStream() {
        StringBuilder sse = new StringBuilder();
        for (String c : CHUNKS) {
            sse.append("data: ").append(c).append("\n\n");
        }
        return sse.append("data: [DONE]\n\n").toString();
    }

    /** What the upstream sends with include_usage: "usage":null on every chunk, and a usage chunk. */
    static String usageStream(String nullUsage) {
        StringBuilder sse = new StringBuilder();
        for (String c : CHUNKS) {
            sse.append("data: ").append(c, 0, c.length() - 1).append(nullUsage).append("}\n\n");
        }
        sse.append("data: ").append(USAGE_CHUNK).append("\n\n");
        return sse.append("data: [DONE]\n\n").toString();
    }

    static String filter(String upstream, int splitEvery) {
        StreamUsageFilter filter = new StreamUsageFilter();
        byte[] bytes = upstream.getBytes(StandardCharsets.UTF_8);
        Buffer out = Buffer.buffer();
        for (int i = 0; i < bytes.length; i += splitEvery) {
            out.appendBuffer(filter.apply(Buffer.buffer().appendBytes(bytes, i, Math.min(splitEvery, bytes.length - i))));
        }
        out.appendBuffer(filter.flush());
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void the_client_stream_is_what_it_would_have_been_wherever_chunks_split() {
        String upstream = usageStream(",\"usage\":null");
        for (int split = 1; split <= upstream.length(); split += split < 40 ? 1 : 37) {
            assertEquals(plainStream(), filter(upstream, split), "split every " + split + " bytes");
        }
    }

    @Test
    void spaced_json_and_crlf_lines_are_handled() {
        String upstream = usageStream(", \"usage\": null").replace("\n", "\r\n");
        assertEquals(plainStream().replace("\n", "\r\n"), filter(upstream, 7));
    }

    @Test
    void a_final_chunk_with_choices_keeps_them_and_loses_only_usage() {
        String last = "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}";
        String upstream = "data: " + last + "\n\ndata: [DONE]\n\n";
        assertEquals("data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}]}"
                + "\n\ndata: [DONE]\n\n", filter(upstream, 5));
    }

    @Test
    void events_without_usage_pass_byte_for_byte() {
        String named = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n: keep-alive\n\n";
        assertEquals(named, filter(named, 3));
    }

    static String withUsage(String body) {
        byte[] out = StreamUsageRequest.withUsage(body.getBytes(StandardCharsets.UTF_8));
        return out == null ? null : new String(out, StandardCharsets.UTF_8);
    }

    @Test
    void the_request_gets_include_usage_and_nothing_else_changes() {
        assertEquals("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                withUsage("{\"model\":\"m\",\"stream\":true}"));
        assertEquals("{ \"stream\" : true , \"n\":1\n,\"stream_options\":{\"include_usage\":true}}",
                withUsage("{ \"stream\" : true , \"n\":1\n}"));
        assertEquals("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                withUsage("{\"stream\":true,\"stream_options\":null}"));
        assertEquals("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                withUsage("{\"stream\":true,\"stream_options\":{}}"));
        assertEquals("{\"stream\":true,\"stream_options\":{\"include_usage\":true,\"include_obfuscation\":false}}",
                withUsage("{\"stream\":true,\"stream_options\":{\"include_obfuscation\":false}}"));
        assertEquals("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                withUsage("{\"stream\":true,\"stream_options\":{\"include_usage\":false}}"));
        assertEquals("{\"messages\":[{\"content\":\"é \\\"}\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                withUsage("{\"messages\":[{\"content\":\"é \\\"}\"}],\"stream\":true}"));
        assertNull(withUsage("[1,2]"));
        assertNull(withUsage("{\"stream\":true,\"stream_options\":\"x\"}"));
        assertNull(withUsage("{\"stream\":tru"));
        assertNull(withUsage("{\"stream\":true"));
    }
}
