package org.camelopenaiproxy.support;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;

/**
 * A small egress proxy on 127.0.0.1, the kind a corporate network puts between the proxy and the
 * internet: HTTP {@code CONNECT} tunnels (TLS upstreams, WebSockets) and absolute-form forwarding
 * (plain-HTTP upstreams), with Basic authentication ({@code 407} otherwise), and SOCKS5 with the
 * same username and password, on the same port (told apart by the first byte). It records each
 * request's target and the local port of every connection it opens to a target, which is how a test
 * sees that an upstream's connection came from here.
 */
public final class ConnectProxy implements AutoCloseable {

    /** One request the proxy took: {@code CONNECT} or a forwarded method, and where to. */
    public record Tunnel(String method, String target) {
    }

    private final Vertx vertx = Vertx.vertx();
    private final NetClient client = vertx.createNetClient();
    private final NetServer server;
    private final String expectedAuthorization;
    private final List<Tunnel> tunnels = new CopyOnWriteArrayList<>();
    private final Set<Integer> outgoingPorts = ConcurrentHashMap.newKeySet();
    private final AtomicInteger refused = new AtomicInteger();

    public ConnectProxy(String user, String password) throws Exception {
        this.expectedAuthorization = "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        server = vertx.createNetServer().connectHandler(this::accept)
                .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private void accept(NetSocket socket) {
        Buffer head = Buffer.buffer();
        socket.handler(chunk -> {
            if (head.length() == 0 && chunk.length() > 0 && chunk.getByte(0) == 5) {
                new Socks5(socket).accept(chunk);
                return;
            }
            head.appendBuffer(chunk);
            String text = head.toString(StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            if (end < 0) {
                if (head.length() > 65536) {
                    socket.close();
                }
                return;
            }
            socket.pause();
            socket.handler(null);
            request(socket, text.substring(0, end), head.getBuffer(end + 4, head.length()));
        });
    }

    private void request(NetSocket socket, String head, Buffer rest) {
        String[] lines = head.split("\r\n");
        String[] requestLine = lines[0].split(" ");
        if (requestLine.length != 3) {
            socket.end(Buffer.buffer("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
            return;
        }
        String authorization = null;
        StringBuilder forwardedHead = new StringBuilder(lines[0]).append("\r\n");
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0 && lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("proxy-authorization")) {
                authorization = lines[i].substring(colon + 1).trim();
            } else {
                forwardedHead.append(lines[i]).append("\r\n");
            }
        }
        if (!expectedAuthorization.equals(authorization)) {
            refused.incrementAndGet();
            socket.end(Buffer.buffer("HTTP/1.1 407 Proxy Authentication Required\r\n"
                                     + "Proxy-Authenticate: Basic realm=\"egress\"\r\nContent-Length: 0\r\n\r\n"));
            return;
        }
        String method = requestLine[0];
        boolean connect = method.equals("CONNECT");
        String authority;
        if (connect) {
            authority = requestLine[1];
        } else {
            java.net.URI uri = java.net.URI.create(requestLine[1]);
            authority = uri.getHost() + ":" + (uri.getPort() > 0 ? uri.getPort() : 80);
        }
        int colon = authority.lastIndexOf(':');
        String host = authority.substring(0, colon);
        int port = Integer.parseInt(authority.substring(colon + 1));
        tunnels.add(new Tunnel(method, authority));
        Buffer first = connect ? Buffer.buffer() : Buffer.buffer(forwardedHead.append("\r\n").toString(), "ISO-8859-1");
        tunnel(socket, host, port, connect ? Buffer.buffer("HTTP/1.1 200 Connection established\r\n\r\n") : null,
                Buffer.buffer("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"), first.appendBuffer(rest));
    }

    /** Connects to the target, answers the client, then pipes both ways; {@code first} goes to the target first. */
    private void tunnel(NetSocket socket, String host, int port, Buffer established, Buffer failure, Buffer first) {
        client.connect(port, host).onComplete(connected -> {
            if (connected.failed()) {
                socket.end(failure);
                return;
            }
            NetSocket target = connected.result();
            outgoingPorts.add(target.localAddress().port());
            if (established != null) {
                socket.write(established);
            }
            if (first.length() > 0) {
                target.write(first);
            }
            socket.pipeTo(target);
            target.pipeTo(socket);
        });
    }

    /** SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), CONNECT only. */
    private final class Socks5 {
        private final NetSocket socket;
        private Buffer in = Buffer.buffer();
        private int stage; // 0 greeting, 1 authentication, 2 request

        Socks5(NetSocket socket) {
            this.socket = socket;
            socket.handler(this::accept);
        }

        void accept(Buffer chunk) {
            in.appendBuffer(chunk);
            while (true) {
                int used = stage == 0 ? greeting() : stage == 1 ? authentication() : request();
                if (used <= 0) {
                    return;
                }
                in = in.getBuffer(used, in.length());
                if (stage == 3) {
                    return;
                }
            }
        }

        private int greeting() {
            if (in.length() < 2 || in.length() < 2 + in.getUnsignedByte(1)) {
                return 0;
            }
            boolean password = false;
            for (int i = 0; i < in.getUnsignedByte(1); i++) {
                password |= in.getByte(2 + i) == 2;
            }
            if (!password) {
                refused.incrementAndGet();
                socket.end(Buffer.buffer(new byte[] {5, (byte) 0xFF}));
                return -1;
            }
            socket.write(Buffer.buffer(new byte[] {5, 2}));
            stage = 1;
            return 2 + in.getUnsignedByte(1);
        }

        private int authentication() {
            if (in.length() < 2) {
                return 0;
            }
            int userLength = in.getUnsignedByte(1);
            if (in.length() < 3 + userLength || in.length() < 3 + userLength + in.getUnsignedByte(2 + userLength)) {
                return 0;
            }
            int passwordLength = in.getUnsignedByte(2 + userLength);
            String user = in.getString(2, 2 + userLength, "UTF-8");
            String password = in.getString(3 + userLength, 3 + userLength + passwordLength, "UTF-8");
            String presented = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            if (!expectedAuthorization.equals(presented)) {
                refused.incrementAndGet();
                socket.end(Buffer.buffer(new byte[] {1, 1}));
                return -1;
            }
            socket.write(Buffer.buffer(new byte[] {1, 0}));
            stage = 2;
            return 3 + userLength + passwordLength;
        }

        private int request() {
            if (in.length() < 5) {
                return 0;
            }
            int type = in.getUnsignedByte(3);
            int addressLength = type == 1 ? 4 : type == 4 ? 16 : 1 + in.getUnsignedByte(4);
            if (in.length() < 4 + addressLength + 2) {
                return 0;
            }
            String host;
            if (type == 3) {
                host = in.getString(5, 5 + in.getUnsignedByte(4), "US-ASCII");
            } else {
                try {
                    host = java.net.InetAddress.getByAddress(in.getBytes(4, 4 + addressLength)).getHostAddress();
                } catch (java.net.UnknownHostException e) {
                    socket.close();
                    return -1;
                }
            }
            int port = in.getUnsignedShort(4 + addressLength);
            int used = 4 + addressLength + 2;
            stage = 3;
            socket.pause();
            socket.handler(null);
            tunnels.add(new Tunnel("SOCKS5", host + ":" + port));
            tunnel(socket, host, port, Buffer.buffer(new byte[] {5, 0, 0, 1, 0, 0, 0, 0, 0, 0}),
                    Buffer.buffer(new byte[] {5, 1, 0, 1, 0, 0, 0, 0, 0, 0}), in.getBuffer(used, in.length()));
            return used;
        }
    }

    public int port() {
        return server.actualPort();
    }

    public List<Tunnel> tunnels() {
        return tunnels;
    }

    /** Local ports of the connections this proxy opened to targets. */
    public Set<Integer> outgoingPorts() {
        return outgoingPorts;
    }

    /** Requests refused for want of the right credentials. */
    public int refused() {
        return refused.get();
    }

    public void reset() {
        tunnels.clear();
        refused.set(0);
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
