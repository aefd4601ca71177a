package org.camelopenaiproxy.relay;

import io.vertx.core.buffer.Buffer;

/**
 * Reads a server-sent event stream line by line as its chunks arrive, for every place that reads
 * events (the usage tee, the stream-usage filter, the replay of a kept stream). A complete line
 * goes to {@link Sink#line} with its terminator ({@code \n} or {@code \r\n}), exactly as it came, so
 * a reader that copies lines copies the stream byte for byte; a blank line ends an event. Only a
 * line still incomplete at the end of a chunk is held, and at most {@code maxLineBytes} of it: once
 * an incomplete line is longer, it is passed to {@link Sink#raw} untouched and unparsed as it
 * arrives, up to its end, instead of being buffered without bound (a line that ends in the chunk
 * that takes it past the bound is still read as a line). One reader per stream; not thread-safe.
 */
public final class SseReader {

    /** The bound used by the proxy's readers: a usage chunk is far smaller, an event rarely larger. */
    public static final int MAX_LINE_BYTES = 1 << 20;

    /** Where the lines go. */
    public interface Sink {

        /** A complete line: {@code data[start, end)}, its terminator included. */
        void line(Buffer data, int start, int end);

        /** Bytes passed on as they are, unparsed: a line over the bound, or an unterminated last line. */
        void raw(Buffer data, int start, int end);
    }

    private final int maxLineBytes;
    private Buffer partial;
    private boolean overlong;

    public SseReader(int maxLineBytes) {
        this.maxLineBytes = maxLineBytes;
    }

    public SseReader() {
        this(MAX_LINE_BYTES);
    }

    /** Reads {@code chunk}: every line it completes goes to {@code sink} now. */
    public void read(Buffer chunk, Sink sink) {
        int length = chunk.length();
        int lineStart = 0;
        if (overlong) {
            int newline = indexOfNewline(chunk, 0, length);
            if (newline < 0) {
                sink.raw(chunk, 0, length);
                return;
            }
            sink.raw(chunk, 0, newline + 1);
            overlong = false;
            lineStart = newline + 1;
        }
        for (int i = lineStart; i < length; i++) {
            if (chunk.getByte(i) != '\n') {
                continue;
            }
            if (partial != null) {
                Buffer line = partial.appendBuffer(chunk, lineStart, i + 1 - lineStart);
                partial = null;
                sink.line(line, 0, line.length());
            } else {
                sink.line(chunk, lineStart, i + 1);
            }
            lineStart = i + 1;
        }
        if (lineStart == length) {
            return;
        }
        int held = partial == null ? 0 : partial.length();
        if (held + length - lineStart > maxLineBytes) {
            if (partial != null) {
                sink.raw(partial, 0, held);
                partial = null;
            }
            sink.raw(chunk, lineStart, length);
            overlong = true;
        } else if (partial == null) {
            partial = Buffer.buffer(Math.max(64, length - lineStart)).appendBuffer(chunk, lineStart, length - lineStart);
        } else {
            partial.appendBuffer(chunk, lineStart, length - lineStart);
        }
    }

    /** The stream ended: an unterminated last line goes to {@link Sink#raw} as it is. */
    public void end(Sink sink) {
        if (partial != null) {
            Buffer rest = partial;
            partial = null;
            sink.raw(rest, 0, rest.length());
        }
        overlong = false;
    }

    /** Whether {@code data[start, end)} is an empty line (an event's end). */
    public static boolean isBlank(Buffer data, int start, int end) {
        return end - start == 1 || (end - start == 2 && data.getByte(start) == '\r');
    }

    /** The end of the line's content: {@code end} without the line's {@code \n} or {@code \r\n}. */
    public static int contentEnd(Buffer data, int start, int end) {
        int e = end;
        if (e > start && data.getByte(e - 1) == '\n') {
            e--;
        }
        if (e > start && data.getByte(e - 1) == '\r') {
            e--;
        }
        return e;
    }

    /** Where the value of a {@code data:} line starts (past spaces), or -1 for any other line. */
    public static int dataValue(Buffer data, int start, int end) {
        if (end - start < 5 || data.getByte(start) != 'd' || data.getByte(start + 1) != 'a'
                || data.getByte(start + 2) != 't' || data.getByte(start + 3) != 'a' || data.getByte(start + 4) != ':') {
            return -1;
        }
        int from = start + 5;
        while (from < end && data.getByte(from) == ' ') {
            from++;
        }
        return from;
    }

    private static int indexOfNewline(Buffer data, int from, int to) {
        for (int i = from; i < to; i++) {
            if (data.getByte(i) == '\n') {
                return i;
            }
        }
        return -1;
    }
}
