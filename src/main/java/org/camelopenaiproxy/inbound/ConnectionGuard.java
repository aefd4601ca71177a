package org.camelopenaiproxy.inbound;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connection-level limits of the API listener: at most {@code maxConnections} open connections,
 * at most {@code maxPerIp} from one client address (past either, a new connection is closed at
 * once), and a read deadline: a connection must deliver a complete request head within
 * {@code readTimeoutMillis} of opening, and of its previous answer ending when it is kept alive;
 * a slow or silent client is disconnected. (The body has its own deadline in
 * {@link RequestBodyReader}.) One timer per waiting connection, none while a request is answered.
 */
public class ConnectionGuard {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);

    private final Vertx vertx;
    private final int maxConnections;
    private final int maxPerIp;
    private final long readTimeoutMillis;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> perIp = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<HttpConnection, long[]> waiting = new ConcurrentHashMap<>();

    public ConnectionGuard(Vertx vertx, int maxConnections, int maxPerIp, long readTimeoutMillis) {
        this.vertx = vertx;
        this.maxConnections = maxConnections;
        this.maxPerIp = maxPerIp;
        this.readTimeoutMillis = readTimeoutMillis;
    }

    public int open() {
        return open.get();
    }

    /** A new connection: counted, refused over a limit, and given its deadline for a request head. */
    public void connected(HttpConnection connection) {
        String ip = connection.remoteAddress() == null ? "?" : connection.remoteAddress().hostAddress();
        AtomicInteger fromIp = perIp.computeIfAbsent(ip, k -> new AtomicInteger());
        int total = open.incrementAndGet();
        int mine = fromIp.incrementAndGet();
        long[] timer = {-1};
        waiting.put(connection, timer);
        connection.closeHandler(v -> {
            open.decrementAndGet();
            if (fromIp.decrementAndGet() <= 0) {
                perIp.remove(ip, fromIp);
            }
            long[] t = waiting.remove(connection);
            if (t != null && t[0] >= 0) {
                vertx.cancelTimer(t[0]);
            }
        });
        if ((maxConnections > 0 && total > maxConnections) || (maxPerIp > 0 && mine > maxPerIp)) {
            LOG.debug("Refusing a connection from {}: {} open, {} from that address", ip, total, mine);
            connection.close();
            return;
        }
        awaitHead(connection, timer);
    }

    /** A request head arrived: no deadline while it is answered; a new one when its answer has ended. */
    public void requestArrived(HttpServerRequest request) {
        HttpConnection connection = request.connection();
        long[] timer = waiting.get(connection);
        if (timer == null) {
            return;
        }
        if (timer[0] >= 0) {
            vertx.cancelTimer(timer[0]);
            timer[0] = -1;
        }
        if (request.version() != HttpVersion.HTTP_2) {
            request.response().endHandler(v -> awaitHead(connection, timer));
        } else {
            waiting.remove(connection); // HTTP/2 multiplexes requests: its own idle handling applies
        }
    }

    private void awaitHead(HttpConnection connection, long[] timer) {
        if (readTimeoutMillis <= 0 || !waiting.containsKey(connection)) {
            return;
        }
        if (timer[0] >= 0) {
            vertx.cancelTimer(timer[0]);
        }
        timer[0] = vertx.setTimer(readTimeoutMillis, id -> {
            timer[0] = -1;
            LOG.debug("Closing a connection that sent no complete request in {} ms", readTimeoutMillis);
            connection.close();
        });
    }
}
