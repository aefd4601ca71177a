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
 * (plain-HTTP upstreams), with Basic authentication ({@code 407} otherwise). It records each
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
        client.connect(port, host).onComplete(connected -> {
            if (connected.failed()) {
                socket.end(Buffer.buffer("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"));
                return;
            }
            NetSocket target = connected.result();
            outgoingPorts.add(target.localAddress().port());
            if (connect) {
                socket.write(Buffer.buffer("HTTP/1.1 200 Connection established\r\n\r\n"));
            } else {
                target.write(Buffer.buffer(forwardedHead.append("\r\n").toString(), "ISO-8859-1"));
            }
            if (rest.length() > 0) {
                target.write(rest);
            }
            socket.pipeTo(target);
            target.pipeTo(socket);
        });
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
