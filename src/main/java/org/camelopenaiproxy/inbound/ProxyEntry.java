package org.camelopenaiproxy.inbound;

import java.util.Map;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.AsyncProducer;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.observe.RequestObserver;
import org.camelopenaiproxy.relay.ResponseWriter;
import org.camelopenaiproxy.reload.ReloadGate;
import org.camelopenaiproxy.request.Outcome;
import org.camelopenaiproxy.request.ProxyHeaders;
import org.camelopenaiproxy.request.ProxyRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP in: a handler on platform-http's own Vert.x router that turns each {@code /v1/**} request
 * into an exchange and sends it, without blocking, to the pipeline route ({@code direct:proxy},
 * see {@code routes/proxy.camel.yaml}). The exchange ends when the upstream's response head
 * arrives; {@link ResponseWriter} then writes or relays the answer. Every other path gets an
 * OpenAI-shaped 404.
 */
public class ProxyEntry extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyEntry.class);
    private static final String API_PREFIX = "/v1/";
    private static final ProxyException NOT_FOUND = ProxyException.notFound(
            "Unknown path: this proxy serves the OpenAI API under /v1/.");

    private final CamelContext camelContext;
    private final String pipelineUri;
    private final ReloadGate gate;
    private final ResponseWriter writer;
    private final RequestObserver observer;
    private Endpoint pipeline;
    private AsyncProducer producer;

    public ProxyEntry(CamelContext camelContext, String pipelineUri, ReloadGate gate, ResponseWriter writer,
            RequestObserver observer) {
        this.camelContext = camelContext;
        this.pipelineUri = pipelineUri;
        this.gate = gate;
        this.writer = writer;
        this.observer = observer;
    }

    /** Registers the handlers; call once the platform-http server is up. */
    public void register(Router router) throws Exception {
        start();
        router.route(API_PREFIX + "*").handler(this::handle);
        router.route().last().handler(ctx -> reject(ctx, NOT_FOUND));
        LOG.info("Serving /v1/** through {}", pipelineUri);
    }

    @Override
    protected void doStart() throws Exception {
        pipeline = camelContext.getEndpoint(pipelineUri);
        producer = pipeline.createAsyncProducer();
        ServiceHelper.startService(producer, observer);
    }

    @Override
    protected void doStop() {
        ServiceHelper.stopService(producer, observer);
    }

    void handle(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        String path = ctx.normalizedPath();
        if (!path.startsWith(API_PREFIX) || path.length() == API_PREFIX.length()) {
            reject(ctx, NOT_FOUND);
            return;
        }
        HttpMethod method = req.method();
        if (method != HttpMethod.GET && method != HttpMethod.POST && method != HttpMethod.DELETE) {
            reject(ctx, ProxyException.methodNotAllowed("Method " + method.name() + " is not allowed here."));
            return;
        }
        req.pause();
        ProxyRequest request = arrived(req, path);
        // The client leaving before its answer has ended cancels the work (the upstream call). Over
        // HTTP/2 this handler also runs when a stream closes after its answer ended, where there is
        // nothing to cancel: resetting the finished upstream call then closed its pooled connection,
        // and every HTTP/2 request opened a new one to the upstream. A streamed body is the
        // exception: the upstream may have answered before it had all of it, and a client leaving
        // then leaves the upstream request short of its Content-Length; only a reset (which closes
        // that connection) keeps the next request from being read as the rest of that body.
        req.response().closeHandler(v -> {
            if (!req.response().ended() || request.bodyStreamed()) {
                request.clientLeft();
            }
        });
        gate.admit(() -> send(request));
    }

    private void send(ProxyRequest request) {
        Exchange exchange = exchange(pipeline, request);
        try {
            producer.process(exchange, doneSync -> complete(exchange, request));
        } catch (Throwable e) {
            exchange.setException(e);
            complete(exchange, request);
        }
    }

    /**
     * A new exchange for {@code request} on {@code endpoint}: the request in property
     * {@link ProxyRequest#PROPERTY}, its headers, a valid request id (the client's or a new one),
     * method, path and query.
     */
    public static Exchange exchange(Endpoint endpoint, ProxyRequest request) {
        Exchange exchange = endpoint.createExchange();
        exchange.setProperty(ProxyRequest.PROPERTY, request);
        HttpServerRequest req = request.request();
        Message message = exchange.getMessage();
        Map<String, Object> headers = message.getHeaders();
        for (Map.Entry<String, String> h : req.headers()) {
            headers.putIfAbsent(h.getKey(), h.getValue());
        }
        message.setHeader(ProxyHeaders.X_REQUEST_ID, request.requestId()); // goes upstream too
        message.setHeader(Exchange.HTTP_METHOD, req.method().name());
        message.setHeader(Exchange.HTTP_PATH, request.path());
        String query = req.query();
        if (query != null) {
            message.setHeader(Exchange.HTTP_QUERY, query);
        }
        return exchange;
    }

    private void complete(Exchange exchange, ProxyRequest request) {
        gate.leave();
        try {
            writer.write(exchange, request);
        } catch (RuntimeException e) {
            LOG.warn("Failed to write the response of request {}: {}", request.requestId(), e.toString());
            request.request().response().reset();
        }
        if (request.clientGone()) {
            // nothing was written or relayed: the request ends here (settlements: slot, tokens, ...)
            request.end(Outcome.clientLeft());
        }
    }

    /** A request begins: its id (the client's, or a new one) and the observer that logs and counts it. */
    private ProxyRequest arrived(HttpServerRequest req, String path) {
        ProxyRequest request = new ProxyRequest(req, path, System.nanoTime());
        request.requestId(RequestIds.fromClient(req.getHeader(ProxyHeaders.X_REQUEST_ID)));
        observer.observe(request);
        return request;
    }

    /** Refuses a request before Vert.x Web has routed it (its path may not even decode). */
    void rejectUnrouted(HttpServerRequest req, ProxyException error) {
        writer.writeError(arrived(req, req.path()), error);
    }

    void reject(RoutingContext ctx, ProxyException error) {
        writer.writeError(arrived(ctx.request(), ctx.normalizedPath()), error);
    }
}
