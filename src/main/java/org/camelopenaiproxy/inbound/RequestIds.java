package org.camelopenaiproxy.inbound;

import java.util.concurrent.ThreadLocalRandom;

/** Request ids for requests that come without a usable {@code x-request-id}: {@code req_} + 24 hex digits. */
public final class RequestIds {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestIds() {
    }

    private static final java.util.regex.Pattern VALID = java.util.regex.Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    /** The client's {@code x-request-id} when it is a plausible id (no spaces, quotes or control characters), else a new one. */
    public static String fromClient(String clientId) {
        return clientId != null && VALID.matcher(clientId).matches() ? clientId : next();
    }

    public static String next() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long a = random.nextLong();
        long b = random.nextLong();
        char[] out = new char[28];
        out[0] = 'r';
        out[1] = 'e';
        out[2] = 'q';
        out[3] = '_';
        for (int i = 0; i < 16; i++) {
            out[4 + i] = HEX[(int) (a >>> (60 - 4 * i)) & 0xf];
        }
        for (int i = 0; i < 8; i++) {
            out[20 + i] = HEX[(int) (b >>> (60 - 4 * i)) & 0xf];
        }
        return new String(out);
    }
}
