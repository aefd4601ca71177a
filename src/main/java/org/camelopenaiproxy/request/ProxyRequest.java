package org.camelopenaiproxy.request;

import java.util.List;
import java.util.function.Consumer;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServerRequest;
import org.apache.camel.Exchange;
import org.camelopenaiproxy.errors.ProxyException;

/**
 * What the pipeline knows about one client request beyond Camel's message headers: the Vert.x
 * request (kept paused until the body is read), {@link Caller who sent it}, {@link RequestFacts
 * what its body said}, {@link UpstreamAttempts its way upstream}, {@link Timings when it reached
 * each point}, and the upstream call in flight (so a client that leaves can cancel it). It ends
 * once, at {@link #end(Outcome)}, which runs the {@link Settlement settlements} in their documented
 * order. Lives in the exchange property {@link #PROPERTY}. Touched only on the request's event loop.
 */
public final class ProxyRequest {

    public static final String PROPERTY = "proxy.request";

    private final HttpServerRequest request;
    private final String path;
    private final Context context;
    private String requestId;
    private Timings timings;
    private UpstreamAttempts upstream = UpstreamAttempts.NONE;
    private Caller caller = Caller.UNKNOWN;
    private Reply reply = Reply.PLAIN;
    private String idempotencyKey;
    private boolean bodyConsumed;
    private boolean bodyStreamed;
    private boolean clientGone;
    private HttpClientRequest upstreamRequest;
    private RequestFacts facts = RequestFacts.UNKNOWN;
    private final RequestEnd end = new RequestEnd();
    private ResponseRecorder recorder;
    private String cacheStatus = "BYPASS";
    private ProxyException error;
    private String endedBy;
    private boolean deadLettered;
    private boolean usageInjected;
    private DiagnosticCapture diagnostics;
    private SessionStats session;

    public ProxyRequest(HttpServerRequest request, String path, long startNanos) {
        this.request = request;
        this.path = path;
        this.timings = Timings.startedAt(startNanos);
        this.context = Vertx.currentContext();
    }

    /** The Vert.x context (event loop) the request arrived on: all its I/O happens there. */
    public Context context() {
        return context;
    }

    public String requestId() {
        return requestId;
    }

    public void requestId(String requestId) {
        this.requestId = requestId;
    }

    /** When the request reached each point of its life. */
    public Timings timings() {
        return timings;
    }

    /** The request's way upstream: attempts, and the deployment that answered. */
    public synchronized UpstreamAttempts upstream() {
        return upstream;
    }

    /** Who sent the request, and the key's rate-limit state. */
    public Caller caller() {
        return caller;
    }

    /** Upstream attempts so far, oldest first (read by the retry policy and the dead-letter record). */
    public synchronized List<Attempt> attempts() {
        return upstream.tried();
    }

    public synchronized void addAttempt(Attempt attempt) {
        upstream = upstream.plus(attempt);
    }

    /** Deployments tried so far. */
    public synchronized java.util.Set<String> triedDeployments() {
        return upstream.deployments();
    }

    public long firstAttemptNanos() {
        return timings.firstAttempt();
    }

    public void markFirstAttempt() {
        timings = timings.withFirstAttempt(System.nanoTime());
    }

    /** The upstream's response head arrived (the attempt that answered). */
    public synchronized void upstreamAnswered(String deployment, String upstreamRequestId) {
        upstream = upstream.answeredBy(deployment, upstreamRequestId);
        timings = timings.withUpstreamHead(System.nanoTime());
    }

    /** The last upstream attempt failed with a status: its error body, masked (for the dead-letter record). */
    public synchronized void lastUpstreamErrorBody(String body) {
        upstream = upstream.withLastErrorBody(body);
    }

    /** What the answer the proxy writes carries beyond the message (Retry-After, upstream headers, replayed). */
    public Reply reply() {
        return reply;
    }

    /** The answer tells the client to retry after {@code millis}. */
    public void retryAfter(long millis) {
        reply = new Reply(millis, reply.upstreamHeaders(), reply.replayed());
    }

    /** The answer is an upstream's own error, passed on with these (masked) headers. */
    public void upstreamHeaders(io.vertx.core.MultiMap headers) {
        reply = new Reply(reply.retryAfterMillis(), headers, reply.replayed());
    }

    /** The answer replays a kept Idempotency-Key answer. */
    public void markReplayed() {
        reply = new Reply(reply.retryAfterMillis(), reply.upstreamHeaders(), true);
    }

    /** The caller-scoped Idempotency-Key step {@code idempotencyKey} made, or {@code null}. */
    public String idempotencyKey() {
        return idempotencyKey;
    }

    public void idempotencyKey(String idempotencyKey) {
        this.idempotencyKey = idempotencyKey;
    }

    /** The deployment whose answer the client got, or {@code null}. */
    public synchronized String deployment() {
        return upstream.deployment();
    }

    /** The upstream's own {@code x-request-id} (OpenAI's {@code req_...}), or {@code null}. */
    public synchronized String upstreamRequestId() {
        return upstream.upstreamRequestId();
    }

    public long upstreamHeadNanos() {
        return timings.upstreamHead();
    }

    /** The relay starts writing the upstream's answer to the client. */
    public void markRelayStart() {
        timings = timings.withRelayStart(System.nanoTime());
    }

    public long relayStartNanos() {
        return timings.relayStart();
    }

    /** The first bytes of the answer's body went to the client (for streams: the first token). */
    public void markFirstByte() {
        timings = timings.withFirstByte(System.nanoTime());
    }

    public long firstByteNanos() {
        return timings.firstByte();
    }

    /** The error the proxy answered with, or {@code null}. */
    public ProxyException error() {
        return error;
    }

    public void error(ProxyException error) {
        this.error = error;
    }

    /** Why an answer ended early ({@code client_closed}, {@code upstream_error}, {@code timeout}), or {@code null}. */
    public String endedBy() {
        return endedBy;
    }

    public void endedBy(String endedBy) {
        if (this.endedBy == null) {
            this.endedBy = endedBy;
        }
    }

    public boolean deadLettered() {
        return deadLettered;
    }

    public void markDeadLettered() {
        this.deadLettered = true;
    }

    /** The proxy asked the upstream for stream usage the client did not ask for (the relay strips it again). */
    public boolean usageInjected() {
        return usageInjected;
    }

    public void markUsageInjected() {
        this.usageInjected = true;
    }

    /** Bodies kept for the access log in diagnostic mode, or {@code null} (the usual case). */
    public DiagnosticCapture diagnostics() {
        return diagnostics;
    }

    public void diagnostics(DiagnosticCapture diagnostics) {
        this.diagnostics = diagnostics;
    }

    public static ProxyRequest of(Exchange exchange) {
        return exchange.getProperty(PROPERTY, ProxyRequest.class);
    }

    public HttpServerRequest request() {
        return request;
    }

    /** The normalized request path, starting with {@code /v1/}. */
    public String path() {
        return path;
    }

    public long startNanos() {
        return timings.start();
    }

    public ClientKey client() {
        return caller.key();
    }

    public void client(ClientKey client) {
        caller = new Caller(client, caller.rateLimits());
    }

    public boolean bodyConsumed() {
        return bodyConsumed;
    }

    public void markBodyConsumed() {
        this.bodyConsumed = true;
    }

    /** Whether the body is piped to the upstream as it arrives ({@link StreamingBody}), not read whole first. */
    public boolean bodyStreamed() {
        return bodyStreamed;
    }

    public void markBodyStreamed() {
        this.bodyStreamed = true;
    }

    public boolean clientGone() {
        return clientGone;
    }

    /** Remembers the upstream call so that {@link #clientLeft()} can cancel it. */
    public void upstreamRequest(HttpClientRequest upstreamRequest) {
        this.upstreamRequest = upstreamRequest;
        if (clientGone) {
            upstreamRequest.reset();
        }
    }

    /** The client closed its connection: stop spending upstream tokens at once. */
    public void clientLeft() {
        clientGone = true;
        endedBy("client_closed");
        if (upstreamRequest != null) {
            upstreamRequest.reset(); // the relay or the pipeline then finishes the request
        }
    }

    /** The recorder copying this request's answer for the cache / idempotency stores, made on first use. */
    public ResponseRecorder recorder(long maxBytes) {
        if (recorder == null) {
            recorder = new ResponseRecorder(maxBytes);
        }
        return recorder;
    }

    /** The recorder, or {@code null} when nothing wants the answer kept. */
    public ResponseRecorder recorder() {
        return recorder;
    }

    /** {@code HIT}, {@code MISS} or {@code BYPASS}: the {@code x-proxy-cache} header's value. */
    public String cacheStatus() {
        return cacheStatus;
    }

    public void cacheStatus(String cacheStatus) {
        this.cacheStatus = cacheStatus;
    }

    public RequestFacts facts() {
        return facts;
    }

    public void facts(RequestFacts facts) {
        this.facts = facts;
    }

    /** The caller's rate-limit state after this request was admitted (for the x-ratelimit-* headers). */
    public RateLimitStatus rateLimits() {
        return caller.rateLimits();
    }

    public void rateLimits(RateLimitStatus rateLimits) {
        caller = new Caller(caller.key(), rateLimits);
    }

    /** The WebSocket session this request became ({@code null} for plain HTTP): duration, frames, bytes, usage. */
    public SessionStats session() {
        return session;
    }

    public void session(SessionStats session) {
        this.session = session;
    }

    /**
     * Registers what this request must settle when it ends, under its name: the settlements run in
     * the order of {@link Settlement}, once, from {@link #end}. Registered after the end, it runs at once.
     */
    public void atEnd(Settlement name, Consumer<Outcome> action) {
        end.add(name, action);
    }

    /**
     * The request is over (completed, failed, the client left, timed out): the one place a request
     * ends. Runs the settlements exactly once, in the order of {@link Settlement}; a later call does nothing.
     *
     * @return {@code false} when the request had ended already
     */
    public boolean end(Outcome outcome) {
        return end.end(outcome, requestId);
    }

    /** How the request ended, or {@code null} while it is running. */
    public Outcome outcome() {
        return end.outcome();
    }
}
