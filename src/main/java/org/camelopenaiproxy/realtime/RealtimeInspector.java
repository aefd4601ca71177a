package org.camelopenaiproxy.realtime;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.camelopenaiproxy.pipeline.policy.RequestInspector;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.RequestFacts;

/**
 * Step {@code realtimeInspector} of route {@code realtime}: a WebSocket session has no body, its
 * model is the {@code ?model=} query parameter (as in {@code /v1/realtime?model=gpt-4o-realtime-preview}).
 * It becomes the request's facts, so {@code modelPolicy} and the deployment choice see it, and model
 * aliases apply (only the parameter's value changes; the rest of the query goes upstream as sent).
 */
public class RealtimeInspector implements Processor {

    private final RequestInspector aliases;

    /** @param aliases the HTTP pipeline's inspector, whose alias rules apply here too */
    public RealtimeInspector(RequestInspector aliases) {
        this.aliases = aliases;
    }

    @Override
    public void process(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        Message message = exchange.getMessage();
        String query = message.getHeader(Exchange.HTTP_QUERY, String.class);
        String requested = param(query, "model");
        if (requested == null || requested.isEmpty()) {
            request.facts(RequestFacts.UNKNOWN);
            return;
        }
        String model = aliases.alias(request.client(), requested);
        if (!model.equals(requested)) {
            message.setHeader(Exchange.HTTP_QUERY, replaceParam(query, "model", model));
        }
        request.facts(new RequestFacts(requested, model, null, true, false, 0, false));
    }

    /** The first value of a query parameter, decoded; {@code null} when absent. */
    static String param(String query, String name) {
        if (query == null) {
            return null;
        }
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (decode(key).equals(name)) {
                return eq < 0 ? "" : decode(pair.substring(eq + 1));
            }
        }
        return null;
    }

    static String replaceParam(String query, String name, String value) {
        StringBuilder out = new StringBuilder();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (out.length() > 0) {
                out.append('&');
            }
            out.append(decode(key).equals(name) ? key + '=' + URLEncoder.encode(value, StandardCharsets.UTF_8) : pair);
        }
        return out.toString();
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException malformed) {
            return s;
        }
    }
}
