package org.camelopenaiproxy.inbound;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ByteProcessor;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * The API listener's HTTP/1.x request decoder: Vert.x's own, with each request head checked byte for
 * byte against RFC 9112 before the decoder is trusted with it. Netty's decoder is lenient where
 * leniency is dangerous behind another HTTP hop: it frames a request carrying both
 * {@code Content-Length} and {@code Transfer-Encoding} by the chunked coding and serves the bytes
 * behind it as the next request (request smuggling), folds obsolete line folding into the previous
 * header, and skips leading control bytes (NULs, a TLS hello) waiting for a request that never
 * comes. A head this class refuses ({@link HeadRefused}: 400, 501 or 505) becomes a failed request
 * that the server's invalid-request handler answers with an OpenAI-shaped error and then closes
 * the connection; every byte after it is discarded unread.
 * <p>
 * What is refused: a first byte that cannot begin a request line (400 at once, before the rest of
 * the head arrives); a request line that is not {@code METHOD SP target SP HTTP/d.d} (lower-case
 * {@code http/1.1} included); an HTTP major version other than 1 (505, an HTTP/2 preface too); an
 * empty header name, a character outside a token in a name (whitespace before the colon), obs-fold,
 * control characters in a value; {@code Content-Length} with {@code Transfer-Encoding}; a
 * {@code Content-Length} that is not digits or differs from another; {@code Transfer-Encoding}
 * in HTTP/1.0; a transfer coding other than one {@code chunked} (501); more header lines than
 * {@code proxy.limits.max-headers} (431). A higher HTTP/1.x minor
 * version is served as HTTP/1.1 (RFC 9112 §2.3).
 */
public final class StrictRequestDecoder extends VertxHttpRequestDecoder {

    /** Vert.x's name for the HTTP/1.x request decoder in a connection's pipeline. */
    static final String NAME = "httpDecoder";

    /** Why a request head was refused, and with which status. */
    public static final class HeadRefused extends IllegalArgumentException {

        private final int status;
        private final String code;

        HeadRefused(int status, String code, String message) {
            super(message, null);
            this.status = status;
            this.code = code;
        }

        public int status() {
            return status;
        }

        public String code() {
            return code;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this; // a refusal, not a fault: no stack to fill
        }
    }

    private final int maxHeadBytes;
    private final int maxHeaders;
    private boolean atHead = true;
    /** Bytes of the current, incomplete head already searched for its end. */
    private int scanned;
    private boolean refused;

    /** @param maxHeaders the most header lines a request may have (431 past it; 0 = no limit) */
    public StrictRequestDecoder(HttpServerOptions options, int maxHeaders) {
        super(options);
        this.maxHeadBytes = options.getMaxInitialLineLength() + options.getMaxHeaderSize() + 4;
        this.maxHeaders = maxHeaders;
    }

    /**
     * Puts this decoder in place of Vert.x's on a new HTTP/1.x connection (HTTP/2 ones have none).
     * Not with cleartext HTTP/2 ({@code proxy.http2.cleartext}): Vert.x then makes the connection
     * only once the first request head has been decoded, and a decoder swapped mid-request would lose
     * its body; those connections keep Vert.x's decoder (and its leniency).
     */
    public static void install(HttpConnection connection, HttpServerOptions options, int maxHeaders) {
        if (options.isHttp2ClearTextEnabled()) {
            return;
        }
        if (connection instanceof ConnectionBase base) {
            ChannelPipeline pipeline = base.channel().pipeline();
            if (pipeline.get(NAME) instanceof VertxHttpRequestDecoder
                    && !(pipeline.get(NAME) instanceof StrictRequestDecoder)) {
                pipeline.replace(NAME, NAME, new StrictRequestDecoder(options, maxHeaders));
            }
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (atHead) {
            int start = in.readerIndex();
            int end = in.writerIndex();
            while (start < end && (in.getByte(start) == '\r' || in.getByte(start) == '\n')) {
                start++; // empty lines before a request line are ignored (RFC 9112 §2.2)
            }
            in.readerIndex(start);
            if (start == end) {
                return;
            }
            if (!isTchar(in.getByte(start))) {
                refuse(in, out, new HeadRefused(400, "malformed_request", "The request does not begin with an HTTP request line."));
                return;
            }
            // a head arriving in pieces is scanned once, not again from its start on every read
            int headEnd = endOfHead(in, start + Math.max(0, scanned - 3), end);
            if (headEnd < 0) {
                scanned = end - start;
                if (scanned <= maxHeadBytes) {
                    return; // wait for the whole head (the read timeout bounds the wait)
                }
                // too long: the decoder refuses it with 414/431
            } else {
                HeadRefused problem = check(in, start, headEnd, maxHeaders);
                if (problem != null) {
                    refuse(in, out, problem);
                    return;
                }
            }
        }
        scanned = 0;
        int before = out.size();
        super.decode(ctx, in, out);
        for (int i = before; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpObject http && http.decoderResult().isFailure()) {
                refused = true; // the decoder discards the rest itself; so do we
            }
            if (o instanceof HttpRequest) {
                atHead = false;
            }
            if (o instanceof LastHttpContent) {
                atHead = true;
            }
        }
    }

    @Override
    protected HttpMessage createMessage(String[] initialLine) {
        String version = initialLine[2];
        if (version.length() == 8 && version.startsWith("HTTP/1.") && version.charAt(7) > '1') {
            initialLine[2] = "HTTP/1.1"; // a later 1.x minor version: served as 1.1 (RFC 9112 §2.3)
        }
        return super.createMessage(initialLine);
    }

    private void refuse(ByteBuf in, List<Object> out, HeadRefused why) {
        refused = true;
        in.skipBytes(in.readableBytes());
        HttpMessage failed = super.createMessage(new String[] {"GET", "/", "HTTP/1.1"});
        failed.setDecoderResult(DecoderResult.failure(why));
        out.add(failed);
    }

    /** Index just past the empty line that ends the head starting at {@code start}, or -1. */
    static int endOfHead(ByteBuf in, int start, int end) {
        int i = start;
        while (i < end) {
            int lf = in.forEachByte(i, end - i, ByteProcessor.FIND_LF); // no bounds check per byte
            if (lf < 0) {
                return -1;
            }
            int next = lf + 1;
            if (next < end && in.getByte(next) == '\n') {
                return next + 1;
            }
            if (next + 1 < end && in.getByte(next) == '\r' && in.getByte(next + 1) == '\n') {
                return next + 2;
            }
            i = next;
        }
        return -1;
    }

    /** What is wrong with the head in {@code [start, end)}, or {@code null}. Works on the bytes: no string per line. */
    static HeadRefused check(ByteBuf in, int start, int end, int maxHeaders) {
        byte[] h = new byte[end - start];
        in.getBytes(start, h);
        List<String> lengths = null;
        List<String> codings = null;
        boolean http10 = false;
        int lines = 0;
        for (int pos = 0; pos < h.length; ) {
            int nl = pos;
            while (h[nl] != '\n') {
                nl++; // the head ends with a line feed: found before the array ends
            }
            int e = nl > pos && h[nl - 1] == '\r' ? nl - 1 : nl;
            for (int i = pos; i < e; i++) {
                if (h[i] == '\r') {
                    return bad("A bare CR in the request head.");
                }
            }
            if (lines == 0) {
                HeadRefused line = checkRequestLine(h, pos, e);
                if (line != null) {
                    return line;
                }
                http10 = h[e - 1] == '0';
            } else if (e == pos) {
                break; // the empty line: the head ends
            } else {
                HeadRefused header = checkHeaderLine(h, pos, e);
                if (header != null) {
                    return header;
                }
                if (nameIs(h, pos, e, CONTENT_LENGTH)) {
                    lengths = add(lengths, value(h, pos + CONTENT_LENGTH.length + 1, e));
                } else if (nameIs(h, pos, e, TRANSFER_ENCODING)) {
                    codings = add(codings, value(h, pos + TRANSFER_ENCODING.length + 1, e));
                }
            }
            lines++;
            pos = nl + 1;
        }
        if (maxHeaders > 0 && lines - 1 > maxHeaders) {
            return new HeadRefused(431, "request_header_fields_too_large",
                    "Too many header lines (at most " + maxHeaders + ").");
        }
        return checkFraming(lengths == null ? List.of() : lengths, codings == null ? List.of() : codings, http10);
    }

    private static final byte[] CONTENT_LENGTH = "content-length".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private static HeadRefused checkHeaderLine(byte[] h, int pos, int e) {
        if (h[pos] == ' ' || h[pos] == '\t') {
            return bad("Obsolete line folding in a header (RFC 9112 §5.2).");
        }
        int colon = pos;
        while (colon < e && h[colon] != ':') {
            if (!isTchar(h[colon])) {
                return bad("A header name with a character outside a token (whitespace before the colon?).");
            }
            colon++;
        }
        if (colon == e) {
            return bad("A header line without a colon.");
        }
        if (colon == pos) {
            return bad("A header with an empty name.");
        }
        for (int i = colon + 1; i < e; i++) {
            int c = h[i] & 0xff;
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return bad("A control character in a header value.");
            }
        }
        return null;
    }

    /** Whether the header line at {@code pos} is named {@code name} (lower case), case-insensitively. */
    private static boolean nameIs(byte[] h, int pos, int e, byte[] name) {
        if (pos + name.length >= e || h[pos + name.length] != ':') {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if ((h[pos + i] | 0x20) != name[i]) {
                return false;
            }
        }
        return true;
    }

    private static String value(byte[] h, int from, int e) {
        return new String(h, from, e - from, java.nio.charset.StandardCharsets.ISO_8859_1).trim();
    }

    private static List<String> add(List<String> list, String value) {
        List<String> l = list == null ? new ArrayList<>(2) : list;
        l.add(value);
        return l;
    }

    private static HeadRefused checkRequestLine(byte[] h, int pos, int e) {
        int sp1 = pos;
        while (sp1 < e && h[sp1] != ' ') {
            if (!isTchar(h[sp1])) {
                return bad("The request method is not a token.");
            }
            sp1++;
        }
        int sp2 = sp1 + 1;
        while (sp2 < e && h[sp2] != ' ') {
            int c = h[sp2] & 0xff;
            if (c < 0x21 || c > 0x7e) {
                return bad("The request target holds a character that must be percent-encoded.");
            }
            sp2++;
        }
        if (sp1 == pos || sp1 >= e || sp2 == sp1 + 1 || sp2 >= e) {
            return bad("The request line is not 'METHOD target HTTP/x.y'.");
        }
        int v = sp2 + 1;
        if (e - v != 8 || h[v] != 'H' || h[v + 1] != 'T' || h[v + 2] != 'T' || h[v + 3] != 'P' || h[v + 4] != '/'
                || !isDigit(h[v + 5]) || h[v + 6] != '.' || !isDigit(h[v + 7])) {
            return bad("The HTTP version is not 'HTTP/x.y' (upper case).");
        }
        if (h[v + 5] != '1') {
            return new HeadRefused(505, "http_version_not_supported", "Only HTTP/1.x is served on this connection.");
        }
        return null;
    }

    private static HeadRefused checkFraming(List<String> lengths, List<String> codings, boolean http10) {
        if (!codings.isEmpty() && !lengths.isEmpty()) {
            return bad("Content-Length and Transfer-Encoding together (RFC 9112 §6.1).");
        }
        if (!codings.isEmpty()) {
            if (http10) {
                return bad("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1).");
            }
            List<String> all = new ArrayList<>();
            for (String value : codings) {
                for (String coding : value.split(",", -1)) {
                    all.add(coding.trim().toLowerCase(Locale.ROOT));
                }
            }
            for (String coding : all) {
                if (!coding.equals("chunked")) {
                    return new HeadRefused(501, "unsupported_transfer_encoding",
                            "Only Transfer-Encoding: chunked is supported.");
                }
            }
            if (all.size() != 1) {
                return bad("The chunked coding given more than once.");
            }
        }
        String length = null;
        for (String value : lengths) {
            for (String each : value.split(",", -1)) {
                String n = each.trim();
                if (n.isEmpty() || n.length() > 18 || !n.chars().allMatch(StrictRequestDecoder::isDigit)) {
                    return bad("An invalid Content-Length.");
                }
                if (length != null && !length.equals(n)) {
                    return bad("Differing Content-Length values.");
                }
                length = n;
            }
        }
        return null;
    }

    private static HeadRefused bad(String message) {
        return new HeadRefused(400, "malformed_request", message);
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (int c = 0; c < 256; c++) {
            TCHAR[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        }
    }

    /** A token character (RFC 9110 §5.6.2). */
    static boolean isTchar(byte b) {
        return TCHAR[b & 0xff];
    }
}
