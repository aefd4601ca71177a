package org.camelopenaiproxy.observe;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import org.camelopenaiproxy.errors.OpenAiError;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.Subprotocols;
import org.camelopenaiproxy.secrets.Redactor;

/**
 * Masks secrets in what an upstream sends back when it refuses a request, before the client (or a
 * dead-letter record) sees it. Upstreams echo keys in their errors: OpenAI's 401 says
 * "Incorrect API key provided: sk-abc***xyz", OpenAI-compatible servers may echo the whole key or
 * the {@code Authorization} header. Masked: every deployment's upstream key and the key the client
 * presented (exactly), and whatever {@link Redactor}'s patterns match ({@code sk-...} keys, also
 * partly masked ones, {@code Bearer} tokens, {@code api_key}-like fields).
 * <p>
 * Only answers outside 2xx are touched: they are small, so their body is collected (up to
 * {@link #MAX_BODY_BYTES}), masked and sent whole with its own {@code Content-Length}. A 2xx answer,
 * and every stream, passes byte for byte and unbuffered. An error body that cannot be read as text
 * (compressed) or is larger than the cap is replaced by an OpenAI-shaped error with the same status.
 */
public final class UpstreamErrorRedactor {

    /** The most of an upstream error body that is collected; a larger one is replaced. */
    public static final int MAX_BODY_BYTES = 64 * 1024;

    private final Supplier<? extends Collection<String>> upstreamKeys;

    public UpstreamErrorRedactor(Supplier<? extends Collection<String>> upstreamKeys) {
        this.upstreamKeys = upstreamKeys;
    }

    /** Whether an upstream answer with this status has its body (and headers) masked. */
    public static boolean masks(int status) {
        return status < 200 || status >= 300;
    }

    /** A redactor knowing this request's secrets: the upstream keys and the key the client presented. */
    public Redactor redactorFor(ProxyRequest request) {
        List<String> secrets = new ArrayList<>(upstreamKeys.get());
        HttpServerRequest req = request == null ? null : request.request();
        if (req != null) {
            presentedKeys(req.headers(), secrets);
        }
        return new Redactor(secrets, List.of());
    }

    /** Text with this request's secrets masked ({@code null} stays {@code null}). */
    public String redact(ProxyRequest request, String text) {
        return text == null || text.isEmpty() ? text : redactorFor(request).redact(text);
    }

    /**
     * An upstream error body as the client may see it: masked, or the same buffer when there was
     * nothing to mask; a body that cannot be read ({@code Content-Encoding} other than identity) or is
     * over the cap becomes an OpenAI-shaped error.
     */
    public Buffer redactBody(ProxyRequest request, int status, Buffer body, String contentEncoding) {
        if (encoded(contentEncoding)) {
            return replacement(status, "an encoded (" + contentEncoding.trim() + ") error body");
        }
        if (body.length() > MAX_BODY_BYTES) {
            return replacement(status, "an error body over " + MAX_BODY_BYTES + " bytes");
        }
        String text = body.toString(StandardCharsets.UTF_8);
        String masked = redactorFor(request).redact(text);
        return masked.equals(text) ? body : Buffer.buffer(masked);
    }

    /** Masks the values of headers going to the client with an upstream error (an allow-list passed them). */
    public void redactHeaders(ProxyRequest request, MultiMap headers) {
        Redactor redactor = null;
        List<Map.Entry<String, String>> changed = null;
        for (Map.Entry<String, String> h : headers) {
            if (redactor == null) {
                redactor = redactorFor(request);
            }
            String masked = redactor.redact(h.getValue());
            if (!masked.equals(h.getValue())) {
                if (changed == null) {
                    changed = new ArrayList<>();
                }
                changed.add(Map.entry(h.getKey(), masked));
            }
        }
        if (changed != null) {
            for (Map.Entry<String, String> h : changed) {
                headers.set(h.getKey(), h.getValue());
            }
        }
    }

    /** Collects one upstream error body while it arrives; {@link #finish()} gives what the client gets. */
    public Collector collector(ProxyRequest request, int status, String contentEncoding) {
        return new Collector(request, status, contentEncoding);
    }

    public final class Collector {

        private final ProxyRequest request;
        private final int status;
        private final String contentEncoding;
        private final Buffer body = Buffer.buffer();
        private boolean overflow;
        private boolean replaced;

        private Collector(ProxyRequest request, int status, String contentEncoding) {
            this.request = request;
            this.status = status;
            this.contentEncoding = contentEncoding;
        }

        public void append(Buffer chunk) {
            if (overflow) {
                return;
            }
            if (body.length() + chunk.length() > MAX_BODY_BYTES) {
                overflow = true; // the rest is read and dropped
                return;
            }
            body.appendBuffer(chunk);
        }

        public Buffer finish() {
            replaced = overflow || encoded(contentEncoding);
            if (overflow) {
                return replacement(status, "an error body over " + MAX_BODY_BYTES + " bytes");
            }
            return redactBody(request, status, body, contentEncoding);
        }

        /** After {@link #finish()}: the body is the proxy's OpenAI-shaped error, not the upstream's. */
        public boolean replaced() {
            return replaced;
        }
    }

    private static boolean encoded(String contentEncoding) {
        return contentEncoding != null && !contentEncoding.isBlank() && !"identity".equalsIgnoreCase(contentEncoding.trim());
    }

    private static Buffer replacement(int status, String what) {
        boolean server = status >= 500;
        return Buffer.buffer(OpenAiError.body(server ? "server_error" : "invalid_request_error", "upstream_error", null,
                "The upstream API answered " + status + " with " + what + ", which the proxy does not relay."));
    }

    /** The key(s) the client presented: {@code Authorization: Bearer}, {@code api-key}, the browser subprotocol. */
    public static void presentedKeys(MultiMap headers, List<String> into) {
        for (String auth : headers.getAll(ProxyHeaders.AUTHORIZATION)) {
            String value = auth.trim();
            into.add(value);
            int space = value.indexOf(' ');
            if (space > 0) {
                into.add(value.substring(space + 1).trim());
            }
        }
        for (String apiKey : headers.getAll(ProxyHeaders.API_KEY)) {
            into.add(apiKey.trim());
        }
        String offer = headers.get(Subprotocols.HEADER);
        if (offer != null) {
            String key = Subprotocols.parse(offer).apiKey();
            if (key != null) {
                into.add(key);
            }
        }
    }
}
