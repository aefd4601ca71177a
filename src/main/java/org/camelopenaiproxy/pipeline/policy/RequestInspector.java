package org.camelopenaiproxy.pipeline.policy;

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
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.inbound.JsonEndpoints;
import org.camelopenaiproxy.request.ClientKey;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.RequestFacts;

/**
 * Pipeline step {@code requestInspector}: reads the few body fields the policy and the limits need
 * ({@code model}, the output-token cap, {@code stream}) from a JSON or multipart body with a
 * streaming parser, and applies model aliases. An alias rewrites only the model value's bytes: the
 * rest of the body goes upstream exactly as the client sent it.
 */
public class RequestInspector implements Processor {

    private static final JsonFactory JSON = new JsonFactory();

    private final Supplier<Map<String, String>> globalAliases;

    public RequestInspector(Supplier<Map<String, String>> globalAliases) {
        this.globalAliases = globalAliases;
    }

    @Override
    public void process(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        Message message = exchange.getMessage();
        if (!(message.getBody() instanceof Buffer body) || body.length() == 0) {
            if (message.getBody() instanceof Buffer && "POST".equals(message.getHeader(Exchange.HTTP_METHOD))
                    && JsonEndpoints.jsonOnly(request.path())) {
                throw new ProxyException(400, "invalid_request_error", "invalid_json", null,
                        request.path() + " needs a JSON object as its body.");
            }
            request.facts(RequestFacts.UNKNOWN);
            return;
        }
        byte[] bytes = bytesOf(body);
        boolean jsonOnly = JsonEndpoints.jsonOnly(request.path());
        if (jsonOnly && !JsonEndpoints.acceptedContentType(message.getHeader(ProxyHeaders.CONTENT_TYPE, String.class))) {
            throw new ProxyException(415, "invalid_request_error", "unsupported_media_type", null,
                    request.path() + " takes a JSON body (Content-Type: application/json).");
        }
        String contentType = message.getHeader(ProxyHeaders.CONTENT_TYPE, String.class);
        Parsed parsed;
        if (jsonOnly || (!MultipartForm.isMultipart(contentType) && firstNonSpace(bytes) == '{')) {
            parsed = parseJson(bytes);
            if (parsed.invalid != null) {
                throw new ProxyException(400, "invalid_request_error", "invalid_json", null, parsed.invalid);
            }
        } else if (MultipartForm.isMultipart(contentType)) {
            parsed = parseMultipart(MultipartForm.scan(bytes, bytes.length, contentType));
        } else {
            parsed = new Parsed(); // another body (text, binary): no model in it
        }
        String requested = parsed.model;
        String model = requested == null ? null : alias(request.client(), requested);
        if (model != null && !model.equals(requested) && parsed.modelStart >= 0) {
            message.setBody(Buffer.buffer(splice(bytes, parsed.modelStart, parsed.modelEnd, parsed.json
                    ? quoted(model) : model.getBytes(StandardCharsets.UTF_8))));
        }
        request.facts(new RequestFacts(requested, model, parsed.maxOutputTokens, parsed.stream, parsed.includeUsage,
                PromptEstimate.tokens(bytes, body.length()), parsed.zeroTemperature || parsed.seed));
    }

    /**
     * The body's bytes without a copy when the buffer is one heap array of exactly its length (a body
     * read with a declared length: a 20 MiB body is parsed in place), else a copy.
     */
    static byte[] bytesOf(Buffer body) {
        io.netty.buffer.ByteBuf buf = body.getByteBuf();
        if (buf.hasArray() && buf.arrayOffset() == 0 && buf.readerIndex() == 0 && buf.array().length == body.length()) {
            return buf.array();
        }
        return body.getBytes();
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
        /** Why the body is not one well-formed JSON object with one {@code model}, or {@code null}. */
        String invalid;
    }

    static Parsed parseJson(byte[] bytes) {
        Parsed p = new Parsed();
        p.json = true;
        if (bytes.length >= 3 && bytes[0] == (byte) 0xEF && bytes[1] == (byte) 0xBB && bytes[2] == (byte) 0xBF) {
            // JSON text must not begin with a BOM (RFC 8259 §8.1); parsers disagree on skipping one
            p.invalid = "The request body begins with a byte order mark.";
            return p;
        }
        try (JsonParser parser = JSON.createParser(bytes)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                p.invalid = "The request body must be a JSON object.";
                return p;
            }
            boolean modelSeen = false;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (field) {
                    case "model" -> {
                        if (modelSeen) {
                            // parsers disagree on which one counts: the proxy would check one, the upstream use another
                            p.invalid = "The request body names 'model' more than once.";
                            return p;
                        }
                        modelSeen = true;
                        parser.skipChildren();
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
            if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
                p.invalid = "The request body is not one complete JSON object.";
            }
        } catch (IOException | RuntimeException malformed) {
            // malformed JSON, invalid UTF-8, nesting deeper than Jackson's limit, numbers out of range
            p.invalid = "The request body is not valid JSON: " + firstLine(malformed.getMessage());
        }
        return p;
    }

    /** The model of a multipart form (audio transcriptions and translations, uploads); 400 if malformed. */
    static Parsed parseMultipart(MultipartForm.Result form) {
        if (form.invalid() != null) {
            throw new ProxyException(400, "invalid_request_error", "invalid_multipart", null, form.invalid());
        }
        Parsed p = new Parsed();
        p.model = form.model();
        p.modelStart = form.modelStart();
        p.modelEnd = form.modelEnd();
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

    private static String firstLine(String message) {
        if (message == null) {
            return "malformed";
        }
        int nl = message.indexOf('\n');
        String line = nl < 0 ? message : message.substring(0, nl);
        return line.length() > 200 ? line.substring(0, 200) : line;
    }

    private static int firstNonSpace(byte[] bytes) {
        for (byte b : bytes) {
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return b;
            }
        }
        return -1;
    }
}
