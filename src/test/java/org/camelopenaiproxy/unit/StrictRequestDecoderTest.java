package org.camelopenaiproxy.unit;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerOptions;
import org.camelopenaiproxy.inbound.StrictRequestDecoder.HeadRefused;
import org.camelopenaiproxy.inbound.StrictRequestDecoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The raw-head checks in front of Netty's HTTP decoder, on an embedded channel (no server). */
class StrictRequestDecoderTest {

    private final EmbeddedChannel channel = new EmbeddedChannel(new StrictRequestDecoder(new HttpServerOptions(), 10));

    private List<HttpObject> feed(String... pieces) {
        for (String p : pieces) {
            channel.writeInbound(Unpooled.copiedBuffer(p, StandardCharsets.ISO_8859_1));
        }
        List<HttpObject> out = new ArrayList<>();
        Object o;
        while ((o = channel.readInbound()) != null) {
            out.add((HttpObject) o);
            ReferenceCountUtil.release(o);
        }
        return out;
    }

    private static HeadRefused refusal(List<HttpObject> out) {
        assertEquals(1, out.size(), "one failed request, nothing after it: " + out);
        assertTrue(out.get(0).decoderResult().isFailure(), out.toString());
        return assertInstanceOf(HeadRefused.class, out.get(0).decoderResult().cause());
    }

    @Test
    void content_length_with_transfer_encoding_is_refused_and_the_request_behind_it_never_decoded() {
        HeadRefused why = refusal(feed("POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /v1/next HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertEquals(400, why.status());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "Transfer-Encoding: gzip|501",
        "Transfer-Encoding: gzip, chunked|501",
        "Transfer-Encoding: chunked, chunked|400",
        "Content-Length: 1\\r\\nContent-Length: 2|400",
        "Content-Length: 0x10|400",
        "X-A : b|400",
        ": b|400",
        "X-A: b\\r\\n folded|400",
        "X-A: b\\u0001|400",
    })
    void a_bad_header_is_refused(String header, int status) {
        String h = header.replace("\\r\\n", "\r\n").replace("\\u0001", "\u0001");
        assertEquals(status, refusal(feed("POST /v1/x HTTP/1.1\r\nHost: x\r\n" + h + "\r\n\r\n")).status());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"HTTP/9.9,505", "HTTP/2.0,505", "http/1.1,400", "HTTP/1,400", "HTTP/1.10,400"})
    void an_unknown_version_is_refused(String version, int status) {
        assertEquals(status, refusal(feed("GET / " + version + "\r\nHost: x\r\n\r\n")).status());
    }

    @Test
    void bytes_that_cannot_begin_a_request_are_refused_before_a_head_is_complete() {
        assertEquals(400, refusal(feed("\u0000\u0000\u0000")).status());
    }

    @Test
    void a_higher_minor_version_is_served_as_http_1_1() {
        List<HttpObject> out = feed("GET / HTTP/1.2\r\nHost: x\r\n\r\n");
        assertEquals(HttpVersion.HTTP_1_1, ((HttpRequest) out.get(0)).protocolVersion());
        assertTrue(out.get(0).decoderResult().isSuccess());
    }

    @Test
    void a_head_arriving_in_pieces_and_pipelined_requests_with_bodies_decode_normally() {
        List<HttpObject> out = feed("\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Le", "ngth: 2\r\n\r\n{}POST /b HTTP/1.1\r\n",
                "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
        List<String> uris = out.stream().filter(o -> o instanceof HttpRequest).map(o -> ((HttpRequest) o).uri()).toList();
        assertEquals(List.of("/a", "/b", "/c"), uris);
        assertTrue(out.stream().allMatch(o -> o.decoderResult().isSuccess()), out.toString());
        assertEquals(3, out.stream().filter(o -> o instanceof LastHttpContent).count());
    }

    @Test
    void a_bad_head_behind_a_good_request_is_refused_too() {
        List<HttpObject> out = feed("POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
                + "POST /b HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                + "GET /smuggled HTTP/1.1\r\n\r\n");
        assertEquals("/a", ((HttpRequest) out.get(0)).uri());
        assertTrue(out.get(0).decoderResult().isSuccess());
        HeadRefused why = refusal(out.subList(2, out.size())); // after /a's head and its body
        assertEquals(400, why.status());
    }

    @Test
    void a_head_sent_byte_by_byte_is_decoded_once_complete() {
        String head = "GET /slow HTTP/1.1\r\nHost: x\r\nX-A: " + "b".repeat(2000) + "\r\n\r\n";
        List<HttpObject> out = new ArrayList<>();
        for (char c : head.toCharArray()) {
            out.addAll(feed(String.valueOf(c)));
        }
        assertEquals("/slow", ((HttpRequest) out.get(0)).uri());
        assertTrue(out.get(0).decoderResult().isSuccess());
    }

    @Test
    void more_header_lines_than_allowed_get_431() {
        assertEquals(431, refusal(feed("GET / HTTP/1.1\r\n" + "X-A: b\r\n".repeat(11) + "\r\n")).status());
    }
}
