package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;

import org.camelopenaiproxy.pipeline.policy.MultipartForm.Result;
import org.camelopenaiproxy.pipeline.policy.MultipartForm;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Finding a multipart form's model by its boundary, the way the upstream reads the form. */
class MultipartFormTest {

    static final String TYPE = "multipart/form-data; boundary=\"xyz\"";

    static Result scan(String body, String type) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return MultipartForm.scan(b, b.length, type);
    }

    static String part(String headers, String value) {
        return "--xyz\r\n" + headers + "\r\n\r\n" + value + "\r\n";
    }

    @Test
    void the_model_is_the_model_part_not_the_same_bytes_inside_another_part() {
        String body = "preamble\r\n" + part("Content-Disposition: form-data; name=\"prompt\"",
                "--xy\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ndecoy")
                + part("Content-Disposition: form-data; name=model", "whisper-1")
                + part("Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav", "RIFF")
                + "--xyz--\r\n";
        Result r = scan(body, TYPE);
        assertNull(r.invalid());
        assertEquals("whisper-1", r.model());
        assertEquals("whisper-1", body.substring(r.modelStart(), r.modelEnd()));
    }

    @Test
    void malformed_forms_are_refused() {
        String model = part("Content-Disposition: form-data; name=\"model\"", "m");
        assertNotNull(scan(model + "--xyz--", "multipart/form-data").invalid(), "no boundary");
        assertNotNull(scan(model + model + "--xyz--", TYPE).invalid(), "two model parts");
        assertNotNull(scan(model, TYPE).invalid(), "no closing delimiter");
        assertNotNull(scan(part("Content-Type: text/plain", "m") + "--xyz--", TYPE).invalid(), "no Content-Disposition");
        assertNotNull(scan("--xyz\r\nno header block", TYPE).invalid(), "no header block");
        assertNotNull(scan("nothing of the kind", TYPE).invalid(), "no part");
    }
}
