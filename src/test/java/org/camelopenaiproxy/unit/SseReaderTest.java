package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.vertx.core.buffer.Buffer;
import org.camelopenaiproxy.relay.SseReader;
import org.camelopenaiproxy.relay.StreamUsageFilter;
import org.camelopenaiproxy.relay.UsageTee;
import org.camelopenaiproxy.request.Usage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one SSE reader: lines exactly as they came wherever the chunks split, CRLF as well as LF,
 * and a line over the bound passed through untouched instead of held.
 */
class SseReaderTest {

    /** A Responses-API-like stream: event and id fields, a comment, LF and CRLF lines, a usage event. */
    static final String STREAM = "event: response.output_text.delta\n"
            + "id: 7\n"
            + "data: {\"type\":\"response.output_text.delta\",\"delta\":\"h\u00e9\"}\n"
            + "\n"
            + ": keep-alive\r\n"
            + "\r\n"
            + "event: response.completed\r\n"
            + "data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":30,\"output_tokens\":5}}}\r\n"
            + "\r\n"
            + "data: [DONE]\r\n"
            + "\r\n";

    /** What a reader saw: its lines, and its raw pieces marked as such. */
    static final class Seen implements SseReader.Sink {
        final List<String> lines = new ArrayList<>();
        final Buffer all = Buffer.buffer();
        final Buffer raw = Buffer.buffer();

        @Override
        public void line(Buffer data, int start, int end) {
            lines.add(data.getString(start, end, "UTF-8"));
            all.appendBuffer(data, start, end - start);
        }

        @Override
        public void raw(Buffer data, int start, int end) {
            raw.appendBuffer(data, start, end - start);
            all.appendBuffer(data, start, end - start);
        }
    }

    static List<String> linesOf(String text) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                lines.add(text.substring(start, i + 1));
                start = i + 1;
            }
        }
        return lines;
    }

    static Seen read(SseReader reader, byte[] bytes, int... cuts) {
        Seen seen = new Seen();
        int from = 0;
        for (int cut : cuts) {
            reader.read(Buffer.buffer().appendBytes(bytes, from, cut - from), seen);
            from = cut;
        }
        reader.read(Buffer.buffer().appendBytes(bytes, from, bytes.length - from), seen);
        reader.end(seen);
        return seen;
    }

    @Test
    void every_line_comes_out_byte_for_byte_wherever_the_stream_is_cut() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= bytes.length; cut++) { // also inside the two-byte é and between \r and \n
            Seen seen = read(new SseReader(), bytes, cut);
            assertEquals(linesOf(STREAM), seen.lines, "cut at byte " + cut);
            assertEquals(STREAM, seen.all.toString(StandardCharsets.UTF_8), "cut at byte " + cut);
            assertEquals(0, seen.raw.length(), "cut at byte " + cut);
        }
    }

    @Test
    void a_stream_arriving_byte_by_byte_reads_the_same() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        int[] everyByte = new int[bytes.length - 1];
        for (int i = 0; i < everyByte.length; i++) {
            everyByte[i] = i + 1;
        }
        Seen seen = read(new SseReader(), bytes, everyByte);
        assertEquals(linesOf(STREAM), seen.lines);
    }

    @Test
    void crlf_and_lf_lines_are_told_apart_from_their_content() {
        Buffer crlf = Buffer.buffer("data: x\r\n");
        Buffer lf = Buffer.buffer("data: x\n");
        assertEquals(6, SseReader.dataValue(crlf, 0, crlf.length()));
        assertEquals(7, SseReader.contentEnd(crlf, 0, crlf.length()));
        assertEquals(7, SseReader.contentEnd(lf, 0, lf.length()));
        assertTrue(SseReader.isBlank(Buffer.buffer("\r\n"), 0, 2));
        assertTrue(SseReader.isBlank(Buffer.buffer("\n"), 0, 1));
        assertFalse(SseReader.isBlank(Buffer.buffer("x\n"), 0, 2));
        assertEquals(-1, SseReader.dataValue(Buffer.buffer("event: data:\n"), 0, 13));
    }

    @Test
    void a_line_over_the_bound_passes_through_untouched_as_it_arrives_and_the_next_line_is_read() {
        String longLine = "data: " + "x".repeat(40) + "\n";
        String stream = "data: a\n" + longLine + "\n" + "data: b\n";
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        SseReader reader = new SseReader(16);
        Seen seen = new Seen();
        int held = 0;
        for (int i = 0; i < bytes.length; i += 7) {
            reader.read(Buffer.buffer().appendBytes(bytes, i, Math.min(7, bytes.length - i)), seen);
            int outSoFar = seen.all.length();
            held = Math.max(held, Math.min(i + 7, bytes.length) - outSoFar);
        }
        reader.end(seen);
        assertTrue(held <= 16, "never more than the bound held back, was " + held);
        assertEquals(List.of("data: a\n", "\n", "data: b\n"), seen.lines);
        assertEquals(longLine, seen.raw.toString(StandardCharsets.UTF_8));
        assertEquals(stream, seen.all.toString(StandardCharsets.UTF_8));
    }

    @Test
    void an_unterminated_last_line_is_handed_over_raw_at_the_end() {
        Seen seen = read(new SseReader(), "data: a\n\ndata: {\"cut".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of("data: a\n", "\n"), seen.lines);
        assertEquals("data: {\"cut", seen.raw.toString(StandardCharsets.UTF_8));
    }

    @Test
    void the_usage_tee_reads_crlf_streams_at_every_cut() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= bytes.length; cut++) {
            UsageTee tee = new UsageTee("text/event-stream");
            tee.accept(Buffer.buffer().appendBytes(bytes, 0, cut));
            tee.accept(Buffer.buffer().appendBytes(bytes, cut, bytes.length - cut));
            assertEquals(new Usage(30, 5), tee.usage(), "cut at byte " + cut);
            assertEquals(2, tee.events(), "data events other than [DONE], cut at byte " + cut);
        }
    }

    @Test
    void the_stream_usage_filter_keeps_event_lines_and_crlf_byte_for_byte_at_every_cut() {
        String stream = "event: chunk\r\nid: 1\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\r\n\r\n"
                + ": comment\n\n"
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\r\n\r\n"
                + "data: [DONE]\r\n\r\n";
        String expected = "event: chunk\r\nid: 1\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
                + ": comment\n\n"
                + "data: [DONE]\r\n\r\n";
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= bytes.length; cut++) {
            StreamUsageFilter filter = new StreamUsageFilter();
            Buffer out = Buffer.buffer();
            out.appendBuffer(filter.apply(Buffer.buffer().appendBytes(bytes, 0, cut)));
            out.appendBuffer(filter.apply(Buffer.buffer().appendBytes(bytes, cut, bytes.length - cut)));
            out.appendBuffer(filter.flush());
            assertEquals(expected, out.toString(StandardCharsets.UTF_8), "cut at byte " + cut);
        }
    }

    @Test
    void the_stream_usage_filter_passes_a_line_over_the_bound_through_untouched_as_it_arrives() {
        String huge = "data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(2 * SseReader.MAX_LINE_BYTES)
                + "\"}}],\"usage\":null}\n\n";
        String after = "data: {\"choices\":[],\"usage\":null}\n\ndata: [DONE]\n\n";
        byte[] bytes = (huge + after).getBytes(StandardCharsets.UTF_8);
        StreamUsageFilter filter = new StreamUsageFilter();
        Buffer out = Buffer.buffer();
        int chunk = 64 * 1024;
        for (int i = 0; i < bytes.length; i += chunk) {
            out.appendBuffer(filter.apply(Buffer.buffer().appendBytes(bytes, i, Math.min(chunk, bytes.length - i))));
            if (i + chunk > SseReader.MAX_LINE_BYTES + chunk && i + chunk < huge.length()) {
                assertTrue(out.length() >= i + chunk - SseReader.MAX_LINE_BYTES,
                        "past the bound the line goes out as it arrives, " + out.length() + " of " + (i + chunk));
            }
        }
        out.appendBuffer(filter.flush());
        String got = out.toString(StandardCharsets.UTF_8);
        String expected = huge + "data: {\"choices\":[]}\n\ndata: [DONE]\n\n";
        assertEquals(expected.length(), got.length(), "tail: " + got.substring(Math.max(0, got.length() - 120)));
        assertTrue(expected.equals(got), "the over-long line untouched (its usage:null kept), the lines after it filtered again");
    }
}
