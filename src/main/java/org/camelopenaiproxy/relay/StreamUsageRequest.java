package org.camelopenaiproxy.relay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.RequestFacts;

/**
 * Step {@code streamUsage}: a streamed Chat Completions (or Completions) request whose client did
 * not ask for {@code stream_options.include_usage} gets it anyway, so the upstream reports the
 * stream's token usage. Only the bytes of that option are added or changed; the rest of the body
 * is forwarded as sent. The relay ({@link StreamUsageFilter}) takes the usage chunk and the
 * {@code "usage":null} members back out, so the client's stream is what it would have been.
 */
public class StreamUsageRequest implements Processor {

    static final Set<String> ENDPOINTS = Set.of("/v1/chat/completions", "/v1/completions");
    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OPTION = "\"include_usage\":true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OPTIONS_OBJECT = "{\"include_usage\":true}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OPTIONS_MEMBER = ",\"stream_options\":{\"include_usage\":true}"
            .getBytes(StandardCharsets.US_ASCII);

    private final boolean enabled;

    public StreamUsageRequest(boolean enabled) {
        this.enabled = enabled;
    }

    @Override
    public void process(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        RequestFacts facts = request.facts();
        Message message = exchange.getMessage();
        if (!enabled || !facts.stream() || facts.includeUsage() || !ENDPOINTS.contains(request.path())
                || !(message.getBody() instanceof Buffer body)) {
            return;
        }
        byte[] rewritten = withUsage(body.getBytes());
        if (rewritten != null) {
            message.setBody(Buffer.buffer(rewritten));
            request.markUsageInjected();
        }
    }

    /** The body with {@code stream_options.include_usage: true}, or {@code null} if it is not a JSON object. */
    public static byte[] withUsage(byte[] bytes) {
        try (JsonParser p = JSON.createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (!"stream_options".equals(name)) {
                    p.skipChildren();
                    continue;
                }
                int at = (int) p.currentTokenLocation().getByteOffset();
                if (value == JsonToken.VALUE_NULL) {
                    return splice(bytes, at, at + 4, OPTIONS_OBJECT);
                }
                if (value != JsonToken.START_OBJECT) {
                    return null; // the upstream will refuse it with a proper error; leave it alone
                }
                int open = at;
                boolean empty = true;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    empty = false;
                    String option = p.currentName();
                    JsonToken v = p.nextToken();
                    if ("include_usage".equals(option) && (v == JsonToken.VALUE_FALSE || v == JsonToken.VALUE_NULL)) {
                        int start = (int) p.currentTokenLocation().getByteOffset();
                        return splice(bytes, start, start + (v == JsonToken.VALUE_FALSE ? 5 : 4), TRUE);
                    }
                    p.skipChildren();
                }
                byte[] insert = empty ? OPTION : concat(OPTION, new byte[] {','});
                return splice(bytes, open + 1, open + 1, insert);
            }
            if (p.currentToken() != JsonToken.END_OBJECT) {
                return null; // truncated
            }
            int close = (int) p.currentTokenLocation().getByteOffset();
            return splice(bytes, close, close, OPTIONS_MEMBER);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static byte[] splice(byte[] bytes, int start, int end, byte[] replacement) {
        byte[] out = new byte[bytes.length - (end - start) + replacement.length];
        System.arraycopy(bytes, 0, out, 0, start);
        System.arraycopy(replacement, 0, out, start, replacement.length);
        System.arraycopy(bytes, end, out, start + replacement.length, bytes.length - end);
        return out;
    }
}
