package org.camelopenaiproxy.request;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;

/**
 * What one WebSocket session did, for the access log and metrics: how long it lasted, the data
 * frames and payload bytes each way, the token usage of the Realtime API's {@code response.done}
 * events (summed over the session), and how it ended. Frame contents are never kept. Updated on the
 * session's event loop; read once the session is over ({@link #closed()}).
 */
public final class SessionStats {

    private static final JsonFactory JSON = new JsonFactory();
    private static final String RESPONSE_DONE = "response.done";

    private final String deployment;
    private final long startNanos = System.nanoTime();
    private volatile long endNanos;
    private long framesToUpstream;
    private long bytesToUpstream;
    private long framesToClient;
    private long bytesToClient;
    private int responses;
    private long inputTokens;
    private long outputTokens;
    private boolean usageSeen;
    private volatile String closedBy;
    private volatile Short closeCode;

    public SessionStats(String deployment) {
        this.deployment = deployment;
    }

    /** A data frame from the client, on its way upstream. */
    public void toUpstream(WebSocketFrame frame) {
        framesToUpstream++;
        bytesToUpstream += frame.binaryData().length();
    }

    /** A data frame from the upstream, on its way to the client; a whole {@code response.done} event is read for usage. */
    public void toClient(WebSocketFrame frame) {
        framesToClient++;
        Buffer data = frame.binaryData();
        bytesToClient += data.length();
        if (frame.isText() && frame.isFinal()) {
            long[] usage = responseDoneUsage(data);
            if (usage != null) {
                responses++;
                if (usage[0] >= 0) {
                    usageSeen = true;
                    inputTokens += usage[0];
                    outputTokens += usage[1];
                }
            }
        }
    }

    public void close(String by, Short code) {
        if (endNanos == 0) {
            endNanos = System.nanoTime();
            closedBy = by;
            closeCode = code;
        }
    }

    public String deployment() {
        return deployment;
    }

    public boolean closed() {
        return endNanos != 0;
    }

    /** Milliseconds from the upgrade to the close (or to now while it runs). */
    public long durationMillis() {
        return ((endNanos != 0 ? endNanos : System.nanoTime()) - startNanos) / 1_000_000;
    }

    public long framesToUpstream() {
        return framesToUpstream;
    }

    public long bytesToUpstream() {
        return bytesToUpstream;
    }

    public long framesToClient() {
        return framesToClient;
    }

    public long bytesToClient() {
        return bytesToClient;
    }

    /** {@code response.done} events relayed. */
    public int responses() {
        return responses;
    }

    /** Tokens summed over the session's {@code response.done} events, or {@code null} when none reported usage. */
    public Usage usage() {
        return usageSeen ? new Usage(inputTokens, outputTokens) : null;
    }

    /** {@code client}, {@code upstream} or {@code proxy} (a time limit); {@code null} while open. */
    public String closedBy() {
        return closedBy;
    }

    /** The close code that ended the session, {@code null} when the connection dropped without one. */
    public Short closeCode() {
        return closeCode;
    }

    /**
     * Reads a Realtime event: {@code null} unless its {@code type} is {@code response.done}; then the
     * input and output tokens of {@code response.usage}, or {@code {-1, -1}} when it has none. The
     * {@code type} comes first in OpenAI's events, so any other event costs a few tokens of parsing.
     */
    static long[] responseDoneUsage(Buffer event) {
        try (JsonParser parser = JSON.createParser(event.getBytes())) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            boolean done = false;
            long[] usage = null;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                if ("type".equals(field)) {
                    if (value != JsonToken.VALUE_STRING || !RESPONSE_DONE.equals(parser.getText())) {
                        return null;
                    }
                    done = true;
                } else if ("response".equals(field) && value == JsonToken.START_OBJECT) {
                    usage = responseUsage(parser);
                } else {
                    parser.skipChildren();
                }
            }
            return done ? (usage != null ? usage : new long[] {-1, -1}) : null;
        } catch (IOException | RuntimeException notJson) {
            return null;
        }
    }

    private static long[] responseUsage(JsonParser parser) throws IOException {
        long[] usage = null;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            if ("usage".equals(field) && value == JsonToken.START_OBJECT) {
                long input = 0;
                long output = 0;
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    JsonToken v = parser.nextToken();
                    if (v == JsonToken.VALUE_NUMBER_INT && ("input_tokens".equals(name) || "prompt_tokens".equals(name))) {
                        input = parser.getLongValue();
                    } else if (v == JsonToken.VALUE_NUMBER_INT
                            && ("output_tokens".equals(name) || "completion_tokens".equals(name))) {
                        output = parser.getLongValue();
                    } else {
                        parser.skipChildren();
                    }
                }
                usage = new long[] {input, output};
            } else {
                parser.skipChildren();
            }
        }
        return usage;
    }

    @Override
    public String toString() {
        Usage u = usage();
        return "duration=" + durationMillis() + "ms frames up/down=" + framesToUpstream + "/" + framesToClient
               + " bytes up/down=" + bytesToUpstream + "/" + bytesToClient + " responses=" + responses
               + (u == null ? "" : " tokens in/out=" + u.promptTokens() + "/" + u.completionTokens())
               + " closed by " + closedBy + (closeCode == null ? "" : " (" + closeCode + ")");
    }
}
