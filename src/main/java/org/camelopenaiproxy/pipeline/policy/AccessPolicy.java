package org.camelopenaiproxy.pipeline.policy;

import org.apache.camel.Exchange;
import org.camelopenaiproxy.config.Glob;
import org.camelopenaiproxy.errors.ProxyException;
import org.camelopenaiproxy.inbound.JsonEndpoints;
import org.camelopenaiproxy.request.ClientKey;
import org.camelopenaiproxy.request.ProxyRequest;
import org.camelopenaiproxy.request.RequestFacts;

/**
 * The two allow-list checks of a key's policy, as two pipeline steps: {@code endpointPolicy}
 * (before the body is read: a refused endpoint costs nothing) and {@code modelPolicy} (after the
 * body was inspected). Both refuse with 403, naming what was refused.
 */
public final class AccessPolicy {

    private AccessPolicy() {
    }

    /** Step {@code endpointPolicy}. */
    public static void checkEndpoint(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        ClientKey key = request.client();
        if (key != null && !Glob.anyMatches(key.endpoints(), request.path())) {
            throw new ProxyException(403, "invalid_request_error", "endpoint_not_allowed", null,
                    "Key '" + key.name() + "' may not call " + request.path() + ".");
        }
    }

    /** Step {@code modelPolicy}: the model actually sent upstream, or the alias the client used, must be allowed. */
    public static void checkModel(Exchange exchange) {
        ProxyRequest request = ProxyRequest.of(exchange);
        ClientKey key = request.client();
        RequestFacts facts = request.facts();
        if (key == null || key.models() == null || facts == null) {
            return;
        }
        if (facts.model() == null) {
            if (facts != RequestFacts.UNKNOWN && JsonEndpoints.modelRequired(request.path())) {
                // no top-level model (one nested elsewhere, or none): nothing the allow-list could vouch for
                throw new ProxyException(403, "invalid_request_error", "model_not_allowed", "model",
                        "Key '" + key.name() + "' may use only the models it is allowed, and this request names none.");
            }
            return;
        }
        if (!Glob.anyMatches(key.models(), facts.model()) && !Glob.anyMatches(key.models(), facts.requestedModel())) {
            throw new ProxyException(403, "invalid_request_error", "model_not_allowed", "model",
                    "Key '" + key.name() + "' may not use model '" + facts.requestedModel() + "'.");
        }
    }
}
