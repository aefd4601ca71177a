package org.camelopenaiproxy.pipeline.policy;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The {@code model} field of a {@code multipart/form-data} body (audio transcriptions and
 * translations, file uploads), found the way the upstream finds it: parts are split by the
 * boundary named in {@code Content-Type}, and only a part whose {@code Content-Disposition} names
 * {@code model} counts (the same bytes inside another part's value are data). Refused as malformed:
 * no boundary, a body that does not start with it, a part without a header block or
 * {@code Content-Disposition: form-data; name=...}, a missing closing delimiter, and a second
 * {@code model} part (parsers disagree on which one counts).
 */
public final class MultipartForm {

    /** The outcome: the model (or {@code null}) and its byte range, or why the body is malformed. */
    public record Result(String model, int modelStart, int modelEnd, String invalid) {
    }

    private MultipartForm() {
    }

    /** The boundary parameter of a multipart Content-Type, or {@code null}. */
    public static String boundary(String contentType) {
        if (contentType == null) {
            return null;
        }
        for (String param : contentType.split(";")) {
            String p = param.trim();
            if (p.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
                String b = p.substring("boundary=".length()).trim();
                if (b.length() >= 2 && b.startsWith("\"") && b.endsWith("\"")) {
                    b = b.substring(1, b.length() - 1);
                }
                return b.isEmpty() || b.length() > 70 ? null : b;
            }
        }
        return null;
    }

    public static boolean isMultipart(String contentType) {
        return contentType != null && contentType.trim().toLowerCase(Locale.ROOT).startsWith("multipart/");
    }

    /** Reads the whole form in {@code bytes[0, length)}. */
    public static Result scan(byte[] bytes, int length, String contentType) {
        String boundary = boundary(contentType);
        if (boundary == null) {
            return invalid("A multipart body needs a boundary in its Content-Type.");
        }
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        byte[] nextDelimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int at = indexOf(bytes, length, delimiter, 0);
        if (at < 0) {
            return invalid("The multipart body holds no part.");
        }
        if (at > 0 && indexOf(bytes, at, new byte[] {'\r', '\n'}, at - 2) != at - 2) {
            return invalid("The multipart body does not start with its boundary.");
        }
        String model = null;
        int modelStart = -1;
        int modelEnd = -1;
        int pos = at + delimiter.length;
        while (true) {
            if (pos + 2 > length) {
                return invalid("The multipart body ends without its closing boundary.");
            }
            if (bytes[pos] == '-' && bytes[pos + 1] == '-') {
                return new Result(model, modelStart, modelEnd, null); // the closing delimiter
            }
            while (pos < length && (bytes[pos] == ' ' || bytes[pos] == '\t')) {
                pos++; // transport padding
            }
            if (pos + 2 > length) {
                continue;
            }
            if (bytes[pos] != '\r' || bytes[pos + 1] != '\n') {
                return invalid("A multipart boundary is not followed by a line end.");
            }
            int headersStart = pos + 2;
            int headersEnd = indexOf(bytes, length, new byte[] {'\r', '\n', '\r', '\n'}, headersStart - 2);
            if (headersEnd < 0) {
                return invalid("A multipart part has no complete header block.");
            }
            String headers = new String(bytes, headersStart, Math.max(0, headersEnd - headersStart),
                    StandardCharsets.UTF_8);
            String name = partName(headers);
            if (name == null) {
                return invalid("A multipart part has no 'Content-Disposition: form-data; name=...'.");
            }
            int contentStart = headersEnd + 4;
            int contentEnd = indexOf(bytes, length, nextDelimiter, contentStart);
            if (contentEnd < 0) {
                return invalid("A multipart part is not closed by the boundary.");
            }
            if (name.equals("model")) {
                if (model != null) {
                    return invalid("The multipart body has more than one 'model' part.");
                }
                if (contentEnd - contentStart > 256) {
                    return invalid("The 'model' part is too long.");
                }
                model = new String(bytes, contentStart, contentEnd - contentStart, StandardCharsets.UTF_8);
                modelStart = contentStart;
                modelEnd = contentEnd;
            }
            pos = contentEnd + nextDelimiter.length;
        }
    }

    private static Result invalid(String why) {
        return new Result(null, -1, -1, why);
    }

    /** The {@code name} of a part's {@code Content-Disposition: form-data}, or {@code null}. */
    static String partName(String headers) {
        for (String line : headers.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || !line.substring(0, colon).trim().equalsIgnoreCase("content-disposition")) {
                continue;
            }
            String[] params = line.substring(colon + 1).split(";");
            if (!params[0].trim().equalsIgnoreCase("form-data")) {
                return null;
            }
            for (int i = 1; i < params.length; i++) {
                String p = params[i].trim();
                if (p.toLowerCase(Locale.ROOT).startsWith("name=")) {
                    String v = p.substring(5).trim();
                    return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
                }
            }
            return null;
        }
        return null;
    }

    static int indexOf(byte[] haystack, int length, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from); i <= length - needle.length; i++) {
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
