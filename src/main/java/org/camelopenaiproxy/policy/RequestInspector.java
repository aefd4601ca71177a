package org.camelopenaiproxy.policy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.camelopenaiproxy.auth.ClientKey;
import org.camelopenaiproxy.http.ProxyRequest;

/**
 * Pipeline step {@code requestInspector}: reads the few body fields the policy and the limits need
 * ({@code model}, the output-token cap, {@code stream}) from a JSON or multipart body with a
 * streaming parser, and applies model aliases. An alias rewrites only the model value's bytes: the
 * rest of the body goes upstream exactly as the client sent it.
 */
public class RequestInspector implements Processor {

    /** Exchange property with the model the upstream receives (for routes, logs and metrics). */
    public static final String MODEL = "proxy.model";

    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] MULTIPART_MODEL = "name=\"model\"".getBytes(StandardCharsets.US_ASCII);

    private final Supplier<Map<String, String>> globalAliases;

    public RequestInspector(Supplier<Map<String, String>> globalAliases) {
        this.globalAliases = globalAliases;
    }

    @Override
    public void process(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        Message message = exchange.getMessage();
        if (!(message.getBody() instanceof Buffer body) || body.length() == 0) {
            request.facts(RequestFacts.UNKNOWN);
            return;
        }
        byte[] bytes = body.getBytes();
        Parsed parsed = firstNonSpace(bytes) == '{' ? parseJson(bytes) : parseMultipart(bytes);
        String requested = parsed.model;
        String model = requested == null ? null : alias(request.client(), requested);
        if (model != null && !model.equals(requested) && parsed.modelStart >= 0) {
            message.setBody(Buffer.buffer(splice(bytes, parsed.modelStart, parsed.modelEnd, parsed.json
                    ? quoted(model) : model.getBytes(StandardCharsets.UTF_8))));
        }
        request.facts(new RequestFacts(requested, model, parsed.maxOutputTokens, parsed.stream, parsed.includeUsage,
                bytes.length, parsed.zeroTemperature || parsed.seed));
        if (model != null) {
            exchange.setProperty(MODEL, model);
        }
    }

    /** The model the upstream gets for {@code model}: the key's alias, else a global one, else itself. */
    public String alias(ClientKey key, String model) {
        String target = key == null ? null : key.aliases().get(model);
        if (target == null) {
            target = globalAliases.get().get(model);
        }
        return target == null ? model : target;
    }

    private static final class Parsed {
        boolean json;
        String model;
        int modelStart = -1;
        int modelEnd = -1;
        Long maxOutputTokens;
        boolean stream;
        boolean includeUsage;
        boolean zeroTemperature;
        boolean seed;
    }

    static Parsed parseJson(byte[] bytes) {
        Parsed p = new Parsed();
        p.json = true;
        try (JsonParser parser = JSON.createParser(bytes)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return p;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (field) {
                    case "model" -> {
                        if (value == JsonToken.VALUE_STRING) {
                            p.model = parser.getText();
                            p.modelStart = (int) parser.currentTokenLocation().getByteOffset();
                            p.modelEnd = endOfString(bytes, p.modelStart);
                        }
                    }
                    case "max_tokens", "max_completion_tokens", "max_output_tokens" -> {
                        if (value == JsonToken.VALUE_NUMBER_INT) {
                            p.maxOutputTokens = parser.getLongValue();
                        }
                    }
                    case "stream" -> p.stream = value == JsonToken.VALUE_TRUE;
                    case "temperature" -> p.zeroTemperature = value.isNumeric() && parser.getDoubleValue() == 0.0;
                    case "seed" -> {
                        p.seed = value != JsonToken.VALUE_NULL;
                        parser.skipChildren();
                    }
                    case "stream_options" -> {
                        if (value == JsonToken.START_OBJECT) {
                            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                                String option = parser.currentName();
                                JsonToken v = parser.nextToken();
                                if ("include_usage".equals(option)) {
                                    p.includeUsage = v == JsonToken.VALUE_TRUE;
                                }
                                parser.skipChildren();
                            }
                        }
                    }
                    default -> parser.skipChildren();
                }
            }
        } catch (IOException malformed) {
            // not our job to judge the JSON: the upstream answers it with its own 400
        }
        return p;
    }

    /** The model field of a multipart form (audio transcriptions and translations). */
    static Parsed parseMultipart(byte[] bytes) {
        Parsed p = new Parsed();
        int at = indexOf(bytes, MULTIPART_MODEL, 0);
        if (at < 0) {
            return p;
        }
        int start = indexOf(bytes, new byte[] {'\r', '\n', '\r', '\n'}, at);
        if (start < 0) {
            return p;
        }
        start += 4;
        int end = indexOf(bytes, new byte[] {'\r', '\n'}, start);
        if (end < 0 || end - start > 256) {
            return p;
        }
        p.model = new String(bytes, start, end - start, StandardCharsets.UTF_8).trim();
        p.modelStart = start;
        p.modelEnd = end;
        return p;
    }

    private static int endOfString(byte[] bytes, int quote) {
        for (int i = quote + 1; i < bytes.length; i++) {
            if (bytes[i] == '\\') {
                i++;
            } else if (bytes[i] == '"') {
                return i + 1;
            }
        }
        return -1;
    }

    private static byte[] quoted(String value) {
        byte[] inner = JsonStringEncoder.getInstance().quoteAsUTF8(value);
        byte[] out = new byte[inner.length + 2];
        out[0] = '"';
        System.arraycopy(inner, 0, out, 1, inner.length);
        out[out.length - 1] = '"';
        return out;
    }

    static byte[] splice(byte[] bytes, int start, int end, byte[] replacement) {
        byte[] out = new byte[bytes.length - (end - start) + replacement.length];
        System.arraycopy(bytes, 0, out, 0, start);
        System.arraycopy(replacement, 0, out, start, replacement.length);
        System.arraycopy(bytes, end, out, start + replacement.length, bytes.length - end);
        return out;
    }

    private static int firstNonSpace(byte[] bytes) {
        for (byte b : bytes) {
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return b;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        outer:
        for (int i = from; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
