package org.camelopenaiproxy.upstream;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import org.camelopenaiproxy.config.Glob;

/**
 * One upstream deployment of {@code config/upstreams.yaml}: where it is, how it authenticates, and
 * which models it serves at which weight and priority. Knows how a client's OpenAI path maps onto
 * it: OpenAI and OpenAI-compatible servers take the path under their base URL; Azure OpenAI takes
 * {@code /openai/deployments/{deployment}/...?api-version=...} and an {@code api-key} header.
 */
public record Deployment(String name, Type type, UpstreamTarget target, int weight, int priority, List<Glob> models,
        String apiVersion, Map<String, String> azureDeployments, UpstreamNetwork network) {

    public enum Type { OPENAI, AZURE, OPENAI_COMPATIBLE }

    /** A deployment reached the default way (default egress, default trust, DNS). */
    public Deployment(String name, Type type, UpstreamTarget target, int weight, int priority, List<Glob> models,
            String apiVersion, Map<String, String> azureDeployments) {
        this(name, type, target, weight, priority, models, apiVersion, azureDeployments, UpstreamNetwork.DEFAULT);
    }

    public boolean serves(String model) {
        return model == null || Glob.anyMatches(models, model);
    }

    /** The path and query to request on this deployment for a client path under {@code /v1/}. */
    public String uriFor(String clientPath, String query, String model) {
        if (type != Type.AZURE) {
            return target.uriFor(clientPath, query);
        }
        String rest = clientPath.startsWith("/v1/") ? clientPath.substring(3) : clientPath;
        String deployment = model == null ? null : azureDeployments.getOrDefault(model, model);
        String path = target.basePath() + (deployment == null ? "/openai" + rest
                : "/openai/deployments/" + URLEncoder.encode(deployment, StandardCharsets.UTF_8) + rest);
        String version = "api-version=" + URLEncoder.encode(apiVersion, StandardCharsets.UTF_8);
        return path + '?' + (query == null || query.isEmpty() ? version : query + '&' + version);
    }

    /** Puts this deployment's key on the upstream request, the way its type expects it. */
    public void authenticate(MultiMap headers) {
        if (type == Type.AZURE) {
            headers.set("api-key", target.apiKey());
        } else if (!target.apiKey().isEmpty() || type == Type.OPENAI) {
            headers.set(HttpHeaders.AUTHORIZATION, "Bearer " + target.apiKey());
        }
    }

    @Override
    public String toString() {
        String net = network == null ? "" : network.toString();
        return name + " (" + type.name().toLowerCase() + ", priority " + priority + ", weight " + weight
               + (net.isEmpty() ? "" : ", " + net) + ")";
    }
}
