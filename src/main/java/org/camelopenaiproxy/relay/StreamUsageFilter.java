package org.camelopenaiproxy.relay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;

/**
 * Takes back out of a Chat Completions stream what {@link StreamUsageRequest} made the upstream add:
 * the {@code "usage":null} member of every chunk, and the usage-only chunk before {@code [DONE]}
 * (empty {@code choices}; it is dropped with its blank separator line). A final chunk that carries
 * usage next to real choices keeps its choices and loses the usage. Works line by line
 * ({@link SseReader}): a complete line goes out with the chunk that completed it, so no event waits
 * for a later one; only a line still incomplete at the end of a chunk is held until its end arrives
 * (a line longer than the reader's bound goes out untouched as it arrives).
 */
public final class StreamUsageFilter {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] USAGE = "\"usage\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);

    private final SseReader lines = new SseReader();
    private boolean dropSeparator;
    private Buffer out;
    /** Complete lines are filtered; a line over the reader's bound goes out untouched. */
    private final SseReader.Sink sink = new SseReader.Sink() {
        @Override
        public void line(Buffer data, int start, int end) {
            StreamUsageFilter.this.line(data, start, end, out);
        }

        @Override
        public void raw(Buffer data, int start, int end) {
            dropSeparator = false;
            out.appendBuffer(data, start, end - start);
        }
    };

    /** The part of the stream that can go to the client now. */
    public Buffer apply(Buffer chunk) {
        out = Buffer.buffer(chunk.length());
        lines.read(chunk, sink);
        return out;
    }

    /** What is left when the stream ends (an unterminated last line). */
    public Buffer flush() {
        out = Buffer.buffer();
        lines.end(sink);
        return out;
    }

    private void line(Buffer data, int start, int end, Buffer out) {
        boolean blank = SseReader.isBlank(data, start, end);
        if (blank && dropSeparator) {
            dropSeparator = false;
            return;
        }
        dropSeparator = false;
        int usage = blank ? -1 : indexOf(data, start, end, USAGE);
        if (usage < 0 || SseReader.dataValue(data, start, end) < 0) {
            out.appendBuffer(data, start, end - start);
            return;
        }
        int value = skipSpaces(data, usage + USAGE.length, end);
        if (value < end && data.getByte(value) == ':') {
            value = skipSpaces(data, value + 1, end);
            if (matches(data, value, NULL)) {
                removeNullUsage(data, start, end, usage, value + NULL.length, out);
                return;
            }
        }
        rewriteUsageChunk(data, start, end, out);
    }

    /** {@code ,"usage":null} (or {@code "usage":null,} when it comes first) is cut out, byte for byte. */
    private static void removeNullUsage(Buffer data, int start, int end, int usage, int afterNull, Buffer out) {
        int before = usage - 1;
        while (before > start && isSpace(data.getByte(before))) {
            before--;
        }
        if (data.getByte(before) == ',') {
            out.appendBuffer(data, start, before - start);
            out.appendBuffer(data, afterNull, end - afterNull);
            return;
        }
        int after = skipSpaces(data, afterNull, end);
        if (after < end && data.getByte(after) == ',') {
            after = skipSpaces(data, after + 1, end);
        }
        out.appendBuffer(data, start, usage - start);
        out.appendBuffer(data, after, end - after);
    }

    /** A chunk carrying real usage: dropped when it has no choices, else re-written without {@code usage}. */
    private void rewriteUsageChunk(Buffer data, int start, int end, Buffer out) {
        int json = SseReader.dataValue(data, start, end);
        int jsonEnd = SseReader.contentEnd(data, json, end);
        try {
            JsonNode node = JSON.readTree(data.getBytes(json, jsonEnd));
            if (!(node instanceof ObjectNode chunk) || !chunk.has("usage") || !chunk.get("usage").isObject()) {
                out.appendBuffer(data, start, end - start);
                return;
            }
            JsonNode choices = chunk.get("choices");
            if (choices == null || (choices.isArray() && choices.isEmpty())) {
                dropSeparator = true;
                return;
            }
            chunk.remove("usage");
            out.appendBuffer(data, start, json - start);
            out.appendBytes(JSON.writeValueAsBytes(chunk));
            out.appendBuffer(data, jsonEnd, end - jsonEnd);
        } catch (IOException | RuntimeException e) {
            out.appendBuffer(data, start, end - start);
        }
    }

    private static boolean matches(Buffer data, int at, byte[] word) {
        if (at + word.length > data.length()) {
            return false;
        }
        for (int i = 0; i < word.length; i++) {
            if (data.getByte(at + i) != word[i]) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(Buffer data, int from, int to, byte[] needle) {
        outer:
        for (int i = from; i <= to - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (data.getByte(i + j) != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static int skipSpaces(Buffer data, int from, int to) {
        int i = from;
        while (i < to && isSpace(data.getByte(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t';
    }
}
