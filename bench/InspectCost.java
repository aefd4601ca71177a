import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;

/**
 * What inspecting a request body costs (issue 13): a small chat body and a 20 MiB JSON body (a
 * base64 image) through RequestInspector's parser, on a buffer as RequestBodyReader fills it, and the
 * raw request-head check StrictRequestDecoder adds to every HTTP/1.x request. Time per call and bytes
 * allocated per call (a copy of the body would show as 20 MiB).
 *   mvn -B -q -o compile
 *   CP=target/classes:$(find ~/.m2/repository/io/netty ~/.m2/repository/io/vertx/vertx-core/4.5.24 \
 *       ~/.m2/repository/com/fasterxml/jackson/core ~/.m2/repository/org/apache/camel/camel-api \
 *       ~/.m2/repository/org/slf4j/slf4j-api -name "*.jar" | grep -v sources \
 *       | grep -E "4.1.130|4.5.24|jackson-core/2.1|camel-api/4.18|slf4j-api/2" | tr '\n' ':')
 *   java -cp "$CP" bench/InspectCost.java
 */
public class InspectCost {

    public static void main(String[] args) throws Exception {
        Class<?> inspector = Class.forName("org.camelopenaiproxy.pipeline.policy.RequestInspector");
        Method bytesOf = inspector.getDeclaredMethod("bytesOf", Buffer.class);
        Method parse = inspector.getDeclaredMethod("parseJson", byte[].class);
        bytesOf.setAccessible(true);
        parse.setAccessible(true);
        Class<?> decoder = Class.forName("org.camelopenaiproxy.inbound.StrictRequestDecoder");
        Method check = decoder.getDeclaredMethod("check", ByteBuf.class, int.class, int.class, int.class);
        check.setAccessible(true);

        byte[] small = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}],\"max_tokens\":16}"
                .getBytes(StandardCharsets.UTF_8);
        String start = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                + "\"image_url\":{\"url\":\"data:image/png;base64,";
        String end = "\"}}]}],\"max_tokens\":300}";
        int size = 20 * 1024 * 1024;
        byte[] big = (start + "QUJD".repeat((size - start.length() - end.length()) / 4) + end).getBytes(StandardCharsets.UTF_8);
        ByteBuf head = Unpooled.copiedBuffer("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy.example\r\n"
                + "Authorization: Bearer sk-0123456789abcdef0123456789abcdef\r\nContent-Type: application/json\r\n"
                + "User-Agent: OpenAI/Python 1.54.0\r\nAccept: application/json\r\nContent-Length: 91\r\n\r\n",
                StandardCharsets.ISO_8859_1);

        measure("small chat body (" + small.length + " B), bytesOf + parseJson", 200_000,
                () -> parse.invoke(null, bytesOf.invoke(null, filled(small))));
        measure("20 MiB JSON body, bytesOf + parseJson", 20, () -> parse.invoke(null, bytesOf.invoke(null, filled(big))),
                big.length);
        Class<?> estimate = Class.forName("org.camelopenaiproxy.pipeline.policy.PromptEstimate");
        Method tokens = estimate.getDeclaredMethod("tokens", byte[].class, int.class);
        measure("20 MiB JSON body, prompt-token estimate (base64 scan)", 20, () -> tokens.invoke(null, big, big.length));
        measure("raw head check of a " + head.readableBytes() + " B request head", 200_000,
                () -> check.invoke(null, head, 0, head.readableBytes(), 100));
        HttpServerOptions options = new HttpServerOptions();
        EmbeddedChannel vertx = new EmbeddedChannel(new VertxHttpRequestDecoder(options));
        EmbeddedChannel strict = new EmbeddedChannel((io.netty.channel.ChannelHandler) decoder
                .getConstructor(HttpServerOptions.class, int.class).newInstance(options, 100));
        byte[] request = new byte[head.readableBytes() + small.length];
        head.getBytes(0, request, 0, head.readableBytes());
        System.arraycopy(small, 0, request, head.readableBytes(), 91);
        for (int round = 0; round < 3; round++) {
            measure("a small request decoded by Vert.x's decoder (before)", 200_000, () -> decode(vertx, request));
            measure("the same by StrictRequestDecoder (after)", 200_000, () -> decode(strict, request));
        }
    }

    static Object decode(EmbeddedChannel channel, byte[] request) {
        channel.writeInbound(Unpooled.wrappedBuffer(request));
        Object o;
        while ((o = channel.readInbound()) != null) {
            ReferenceCountUtil.release(o);
        }
        return null;
    }

    /** A buffer as RequestBodyReader fills it: sized to the declared length, then the bytes appended. */
    static Buffer filled(byte[] body) {
        return Buffer.buffer(body.length).appendBytes(body);
    }

    interface Call {
        Object run() throws Exception;
    }

    static void measure(String what, int n, Call call) throws Exception {
        measure(what, n, call, 0);
    }

    /** {@code excluded}: bytes each call allocates on purpose (the test buffer itself), not counted. */
    static void measure(String what, int n, Call call, long excluded) throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int i = 0; i < Math.max(5, n / 10); i++) {
            call.run(); // warm-up
        }
        long alloc0 = mx.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            call.run();
        }
        long nanos = (System.nanoTime() - t0) / n;
        long alloc = (mx.getCurrentThreadAllocatedBytes() - alloc0) / n - excluded;
        System.out.printf("%-60s %,12d ns/call %,12d bytes allocated/call (besides the body buffer)%n", what, nanos,
                Math.max(0, alloc));
    }
}
