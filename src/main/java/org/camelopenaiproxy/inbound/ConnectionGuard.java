package org.camelopenaiproxy.inbound;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.vertx.core.Handler;
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
 * {@code readTimeoutMillis} of opening, and of its previous answer ending when it is kept alive
 * (over HTTP/2: of the answer of its last open stream ending); a slow or silent client is disconnected. (The body has its own deadline in
 * {@link RequestBodyReader}.) At most one timer per connection, moved lazily (see {@link HeadDeadline}).
 */
public class ConnectionGuard {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);

    private final Vertx vertx;
    private final int maxConnections;
    private final int maxPerIp;
    private final long readTimeoutMillis;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> perIp = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<HttpConnection, HeadDeadline> waiting = new ConcurrentHashMap<>();

    public ConnectionGuard(Vertx vertx, int maxConnections, int maxPerIp, long readTimeoutMillis) {
        this.vertx = vertx;
        this.maxConnections = maxConnections;
        this.maxPerIp = maxPerIp;
        this.readTimeoutMillis = readTimeoutMillis;
    }

    public long readTimeoutMillis() {
        return readTimeoutMillis;
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
        HeadDeadline deadline = new HeadDeadline(connection);
        waiting.put(connection, deadline);
        connection.closeHandler(v -> {
            open.decrementAndGet();
            if (fromIp.decrementAndGet() <= 0) {
                perIp.remove(ip, fromIp);
            }
            HeadDeadline d = waiting.remove(connection);
            if (d != null) {
                d.cancel();
            }
        });
        if ((maxConnections > 0 && total > maxConnections) || (maxPerIp > 0 && mine > maxPerIp)) {
            LOG.debug("Refusing a connection from {}: {} open, {} from that address", ip, total, mine);
            connection.close();
            return;
        }
        deadline.awaitHead();
    }

    /** A request head arrived: no deadline while it is answered; a new one when its answer has ended. */
    public void requestArrived(HttpServerRequest request) {
        HttpConnection connection = request.connection();
        HeadDeadline deadline = waiting.get(connection);
        if (deadline == null) {
            return;
        }
        deadline.answering();
        if (request.version() != HttpVersion.HTTP_2) {
            request.response().endHandler(v -> deadline.awaitHead());
            return;
        }
        // HTTP/2 multiplexes requests: the connection waits for a head once its last open stream
        // has ended. (Vert.x has no idle handling of its own here: an HTTP/2 connection left silent
        // after its first request was never closed, and held its slot in the connection limits.)
        // On HTTP/2 the end handler runs once per stream: when its answer ends, or when it is reset.
        deadline.streams++;
        request.response().endHandler(v -> {
            if (--deadline.streams == 0) {
                deadline.awaitHead();
            }
        });
    }

    /**
     * A connection's deadline for its next request head. A keep-alive request only moves the
     * deadline; the one timer is re-armed lazily when it fires early, so a busy connection costs no
     * timer set and cancel per request. All calls come on the connection's event loop.
     */
    private final class HeadDeadline implements Handler<Long> {

        private final HttpConnection connection;
        /** When the connection is closed unless a head has arrived; {@code Long.MAX_VALUE} while a request is answered. */
        private long deadlineNanos = Long.MAX_VALUE;
        private long timerId = -1;
        /** The connection closed: no deadline any more. */
        private boolean gone;
        /** HTTP/2: streams whose answer has not ended yet. */
        private int streams;

        HeadDeadline(HttpConnection connection) {
            this.connection = connection;
        }

        void awaitHead() {
            if (readTimeoutMillis <= 0 || gone) {
                return; // an answer that ends after its connection closed arms nothing
            }
            deadlineNanos = System.nanoTime() + readTimeoutMillis * 1_000_000L;
            if (timerId < 0) {
                timerId = vertx.setTimer(readTimeoutMillis, this);
            }
        }

        void answering() {
            deadlineNanos = Long.MAX_VALUE;
        }

        void cancel() {
            gone = true;
            if (timerId >= 0) {
                vertx.cancelTimer(timerId);
                timerId = -1;
            }
        }

        @Override
        public void handle(Long id) {
            timerId = -1;
            if (deadlineNanos == Long.MAX_VALUE || gone) {
                return; // a request is being answered: its end sets a new deadline (and timer)
            }
            long left = deadlineNanos - System.nanoTime();
            if (left > 0) {
                timerId = vertx.setTimer(Math.max(1, left / 1_000_000L), this);
                return;
            }
            LOG.debug("Closing a connection that sent no complete request in {} ms", readTimeoutMillis);
            connection.close();
        }
    }
}
