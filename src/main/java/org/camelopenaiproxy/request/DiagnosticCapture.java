package org.camelopenaiproxy.request;

import java.nio.charset.StandardCharsets;

import io.vertx.core.buffer.Buffer;
import org.camelopenaiproxy.secrets.Redactor;

/**
 * The bodies of one request kept for its access-log line in diagnostic mode, each cut after
 * {@code maxBytes}, and the redactor that masks their secrets when the line is written.
 */
public final class DiagnosticCapture {

    private final int maxBytes;
    private final Redactor redactor;
    private String requestBody;
    private final Buffer response = Buffer.buffer();
    private long responseBytes;

    public DiagnosticCapture(int maxBytes, Redactor redactor) {
        this.maxBytes = maxBytes;
        this.redactor = redactor;
    }

    public void requestBody(Buffer body) {
        requestBody = cut(body, body.length());
    }

    public void requestBodyStreamed(long length) {
        requestBody = "[" + length + " bytes, streamed through: not captured]";
    }

    public void response(Buffer chunk) {
        if (response.length() < maxBytes) {
            int room = maxBytes - response.length();
            response.appendBuffer(chunk.length() <= room ? chunk : chunk.getBuffer(0, room));
        }
        responseBytes += chunk.length();
    }

    public String requestBody() {
        return redactor.redact(requestBody);
    }

    public String responseBody() {
        String text = response.toString(StandardCharsets.UTF_8);
        if (responseBytes > response.length()) {
            text += "...[" + responseBytes + " bytes]";
        }
        return redactor.redact(text);
    }

    private String cut(Buffer body, long total) {
        String text = (body.length() <= maxBytes ? body : body.getBuffer(0, maxBytes)).toString(StandardCharsets.UTF_8);
        return total > maxBytes ? text + "...[" + total + " bytes]" : text;
    }
}
