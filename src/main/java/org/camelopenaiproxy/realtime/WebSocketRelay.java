package org.camelopenaiproxy.realtime;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketFrame;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.SessionStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays one WebSocket session between the client and the upstream, frame by frame: text, binary
 * and continuation frames cross unchanged (same type, same bytes, same fragmentation) and in order.
 * Back-pressure: a side whose write queue is full pauses the other until it drains. Pings are
 * answered by each hop itself (Vert.x answers every ping with a pong); they are not relayed. A close
 * on either side closes the other with the same code and reason; a connection that drops without a
 * close frame closes the other side with 1011 (upstream) or 1001 (client). The session is also
 * closed (1001) after {@code idleMillis} without a data frame either way, and after
 * {@code maxMillis} in all. When it ends, the session's {@link ProxyRequest} is finished (releasing
 * its concurrency slot, settling its tokens) and one line is logged. No thread is held: everything
 * runs on the session's event loop.
 */
public class WebSocketRelay {

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketRelay.class);
    static final short GOING_AWAY = 1001;
    static final short INTERNAL_ERROR = 1011;

    private final Vertx vertx;
    private final long idleMillis;
    private final long maxMillis;

    /** @param idleMillis 0 for none; @param maxMillis 0 for none */
    public WebSocketRelay(Vertx vertx, long idleMillis, long maxMillis) {
        this.vertx = vertx;
        this.idleMillis = idleMillis;
        this.maxMillis = maxMillis;
    }

    /** Starts relaying; both sockets may be paused, and are resumed here. */
    public void start(ProxyRequest request, ServerWebSocket client, WebSocket upstream, SessionStats stats) {
        new Session(request, client, upstream, stats).start();
    }

    private final class Session implements Handler<Long> {

        private final ProxyRequest request;
        private final ServerWebSocket client;
        private final WebSocket upstream;
        private final SessionStats stats;
        private final long started = System.nanoTime();
        private long lastActivity = started;
        private long timerId = -1;
        private boolean over;

        Session(ProxyRequest request, ServerWebSocket client, WebSocket upstream, SessionStats stats) {
            this.request = request;
            this.client = client;
            this.upstream = upstream;
            this.stats = stats;
        }

        void start() {
            relay(client, upstream, true);
            relay(upstream, client, false);
            client.closeHandler(v -> closed(client, upstream, "client"));
            upstream.closeHandler(v -> closed(upstream, client, "upstream"));
            client.exceptionHandler(e -> LOG.debug("Realtime session {}: client socket failed: {}", request.requestId(), e.toString()));
            upstream.exceptionHandler(e -> LOG.debug("Realtime session {}: upstream socket failed: {}", request.requestId(), e.toString()));
            arm(started);
            if (client.isClosed()) {
                closed(client, upstream, "client");
            } else if (upstream.isClosed()) {
                closed(upstream, client, "upstream");
            } else {
                client.resume();
                upstream.resume();
            }
        }

        private void relay(WebSocketBase from, WebSocketBase to, boolean toUpstream) {
            from.frameHandler(frame -> {
                if (!frame.isText() && !frame.isBinary() && !frame.isContinuation()) {
                    return; // ping/pong are answered per hop; close is handled by the close handler
                }
                if (over || to.isClosed()) {
                    return;
                }
                lastActivity = System.nanoTime();
                count(frame, toUpstream);
                try {
                    to.writeFrame(frame);
                } catch (IllegalStateException closing) {
                    return; // the other side is closing at this moment: its close handler ends the session
                }
                if (to.writeQueueFull()) {
                    from.pause();
                    to.drainHandler(v -> from.resume());
                }
            });
        }

        private void count(WebSocketFrame frame, boolean toUpstream) {
            if (toUpstream) {
                stats.toUpstream(frame);
            } else {
                stats.toClient(frame);
            }
        }

        private void closed(WebSocketBase side, WebSocketBase other, String by) {
            if (over) {
                return;
            }
            Short code = side.closeStatusCode();
            String reason = side.closeReason();
            if (code != null && sendable(code)) {
                end(by, code, code, reason);
            } else {
                // dropped without a (usable) close frame
                end(by, code, "upstream".equals(by) ? INTERNAL_ERROR : GOING_AWAY,
                        "upstream".equals(by) ? "upstream connection lost" : "client connection lost");
            }
        }

        /** Ends the session: closes whichever side is still open with {@code code}, finishes the request. */
        private void end(String by, Short recorded, short code, String reason) {
            if (over) {
                return;
            }
            over = true;
            if (timerId >= 0) {
                vertx.cancelTimer(timerId);
                timerId = -1;
            }
            stats.close(by, recorded);
            closeQuietly(client, code, reason);
            closeQuietly(upstream, code, reason);
            request.end(Outcome.completed(101, stats.usage(), stats.responses()));
            LOG.info("Realtime session {} key={} deployment={} path={} {}", request.requestId(),
                    request.client() == null ? "-" : request.client().name(), stats.deployment(), request.path(), stats);
        }

        @Override
        public void handle(Long id) {
            timerId = -1;
            if (over) {
                return;
            }
            long now = System.nanoTime();
            if (maxMillis > 0 && now - started >= maxMillis * 1_000_000L) {
                end("proxy", GOING_AWAY, GOING_AWAY, "session time limit reached");
            } else if (idleMillis > 0 && now - lastActivity >= idleMillis * 1_000_000L) {
                end("proxy", GOING_AWAY, GOING_AWAY, "idle timeout");
            } else {
                arm(now);
            }
        }

        private void arm(long now) {
            long next = Long.MAX_VALUE;
            if (idleMillis > 0) {
                next = lastActivity + idleMillis * 1_000_000L - now;
            }
            if (maxMillis > 0) {
                next = Math.min(next, started + maxMillis * 1_000_000L - now);
            }
            if (next != Long.MAX_VALUE) {
                timerId = vertx.setTimer(Math.max(1, next / 1_000_000L), this);
            }
        }
    }

    private static void closeQuietly(WebSocketBase socket, short code, String reason) {
        if (socket.isClosed()) {
            return;
        }
        try {
            socket.close(code, reason);
        } catch (RuntimeException alreadyClosing) {
            // the other side went away at the same moment
        }
    }

    /** Codes that may be sent in a close frame (RFC 6455 7.4): not 1004-1006 nor 1015, nothing below 1000 or past 4999. */
    static boolean sendable(int code) {
        return code >= 1000 && code <= 4999 && code != 1004 && code != 1005 && code != 1006 && code != 1015
               && (code < 1016 || code >= 3000);
    }
}
