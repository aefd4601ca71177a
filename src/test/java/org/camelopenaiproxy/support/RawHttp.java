package org.camelopenaiproxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Sends bytes exactly as given over a plain socket (what an HTTP client library would refuse to
 * send) and reads what comes back until the server closes or goes quiet.
 */
public final class RawHttp {

    /** What came back: the raw text, the status codes of the responses in it, and whether the server closed. */
    public record Reply(String text, List<Integer> statuses, boolean closed) {

        public int status() {
            return statuses.isEmpty() ? -1 : statuses.get(0);
        }

        @Override
        public String toString() {
            return "statuses=" + statuses + " closed=" + closed + " text=" + text.substring(0, Math.min(400, text.length()));
        }
    }

    private RawHttp() {
    }

    public static Reply send(int port, byte[] request, int quietMillis) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(quietMillis);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException closedEarly) {
                // the server may refuse before it read everything: what it answered still counts
            }
            return read(socket.getInputStream());
        }
    }

    public static Reply send(int port, String request) throws IOException {
        return send(port, request.getBytes(StandardCharsets.ISO_8859_1), 3000);
    }

    public static Reply read(InputStream in) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        boolean closed = false;
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                got.write(buf, 0, n);
            }
            closed = true;
        } catch (SocketTimeoutException quiet) {
            // the server keeps the connection open and has nothing more to say
        } catch (IOException reset) {
            closed = true;
        }
        String text = got.toString(StandardCharsets.ISO_8859_1);
        List<Integer> statuses = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("HTTP/1\\.[01] (\\d{3}) ").matcher(text);
        while (m.find()) {
            statuses.add(Integer.parseInt(m.group(1)));
        }
        return new Reply(text, statuses, closed);
    }
}
