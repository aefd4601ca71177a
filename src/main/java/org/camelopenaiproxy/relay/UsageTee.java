package org.camelopenaiproxy.relay;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import org.camelopenaiproxy.request.Usage;

/**
 * Reads token usage out of an answer while it is relayed, without holding the answer back: a JSON
 * answer is copied (up to a limit) and its top-level {@code usage} read at the end; an SSE stream is
 * read line by line ({@link SseReader}) and every {@code data:} line mentioning {@code "usage"} is parsed (Chat
 * Completions' final chunk, the Responses API's {@code response.completed} event).
 */
public final class UsageTee {

    private static final JsonFactory JSON = new JsonFactory();
    private static final int MAX_JSON_BYTES = 1 << 20;
    private static final Buffer TOO_LARGE = Buffer.buffer(0);

    private final boolean eventStream;
    private final boolean enabled;
    private Buffer json;
    private final SseReader lines = new SseReader();
    /** Lines are read; a line over the reader's bound passes unread (no usage is that large). */
    private final SseReader.Sink sink = new SseReader.Sink() {
        @Override
        public void line(Buffer data, int start, int end) {
            UsageTee.this.line(data, start, end);
        }

        @Override
        public void raw(Buffer data, int start, int end) {
        }
    };
    private Usage usage;
    private int events;

    /** @param contentType the answer's content type: SSE and JSON answers are read, others passed over */
    public UsageTee(String contentType) {
        String type = contentType == null ? "" : contentType.toLowerCase(java.util.Locale.ROOT);
        this.eventStream = type.startsWith("text/event-stream");
        this.enabled = eventStream || type.startsWith("application/json");
    }

    public void accept(Buffer chunk) {
        if (!enabled) {
            return;
        }
        if (eventStream) {
            lines.read(chunk, sink);
        } else if (json == null) {
            json = chunk.copy();
        } else if (json.length() + chunk.length() <= MAX_JSON_BYTES) {
            json.appendBuffer(chunk);
        } else {
            json = TOO_LARGE;
        }
    }

    /** The usage the answer reported, or {@code null}. */
    public Usage usage() {
        if (!eventStream && usage == null && json != null && json != TOO_LARGE) {
            byte[] bytes = json.getBytes();
            usage = parseTrailingUsage(bytes);
            if (usage == null) {
                usage = parse(bytes, 0, bytes.length);
            }
            json = null;
        }
        return usage;
    }

    /** SSE {@code data:} events seen (other than {@code [DONE]}). */
    public int events() {
        return events;
    }

    private void line(Buffer data, int start, int lineEnd) {
        int from = SseReader.dataValue(data, start, lineEnd);
        if (from < 0) {
            return;
        }
        int end = SseReader.contentEnd(data, from, lineEnd);
        if (end - from == 6 && data.getString(from, end).equals("[DONE]")) {
            return;
        }
        events++;
        byte[] bytes = data.getBytes(from, end);
        if (contains(bytes, USAGE)) {
            Usage found = parse(bytes, 0, bytes.length);
            if (found != null) {
                usage = found;
            }
        }
    }

    private static final byte[] USAGE = "\"usage\"".getBytes();

    /**
     * OpenAI puts {@code usage} last in a JSON answer: find the last {@code "usage": {} member and
     * read just that object, instead of parsing the whole answer.
     */
    static Usage parseTrailingUsage(byte[] bytes) {
        for (int at = bytes.length - USAGE.length; at > 0; at--) {
            if (bytes[at] != '"' || !startsWith(bytes, at, USAGE) || bytes[at - 1] == '\\') {
                continue;
            }
            int i = at + USAGE.length;
            while (i < bytes.length && (bytes[i] == ' ' || bytes[i] == '\n' || bytes[i] == '\r' || bytes[i] == '\t')) {
                i++;
            }
            if (i >= bytes.length || bytes[i] != ':') {
                return null;
            }
            i++;
            while (i < bytes.length && (bytes[i] == ' ' || bytes[i] == '\n' || bytes[i] == '\r' || bytes[i] == '\t')) {
                i++;
            }
            if (i >= bytes.length || bytes[i] != '{') {
                return null;
            }
            try (JsonParser p = JSON.createParser(bytes, i, bytes.length - i)) {
                p.nextToken();
                return readUsage(p);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
        return null;
    }

    private static boolean startsWith(byte[] bytes, int at, byte[] prefix) {
        if (at + prefix.length > bytes.length) {
            return false;
        }
        for (int j = 0; j < prefix.length; j++) {
            if (bytes[at + j] != prefix[j]) {
                return false;
            }
        }
        return true;
    }

    /** Finds a {@code usage} object at the top level, or one level down (Responses: {@code response.usage}). */
    static Usage parse(byte[] bytes, int offset, int length) {
        try (JsonParser p = JSON.createParser(bytes, offset, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            return findUsage(p, 0);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static Usage findUsage(JsonParser p, int depth) throws IOException {
        Usage found = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if ("usage".equals(name) && v == JsonToken.START_OBJECT) {
                found = readUsage(p);
            } else if (depth == 0 && "response".equals(name) && v == JsonToken.START_OBJECT) {
                Usage inner = findUsage(p, 1);
                if (inner != null) {
                    found = inner;
                }
            } else {
                p.skipChildren();
            }
        }
        return found;
    }

    private static Usage readUsage(JsonParser p) throws IOException {
        long prompt = -1;
        long completion = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (v == JsonToken.VALUE_NUMBER_INT) {
                switch (name) {
                    case "prompt_tokens", "input_tokens" -> prompt = p.getLongValue();
                    case "completion_tokens", "output_tokens" -> completion = p.getLongValue();
                    default -> { }
                }
            } else {
                p.skipChildren();
            }
        }
        return prompt < 0 && completion < 0 ? null : new Usage(Math.max(0, prompt), Math.max(0, completion));
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
