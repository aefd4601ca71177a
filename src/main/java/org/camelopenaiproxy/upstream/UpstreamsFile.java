package org.camelopenaiproxy.upstream;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.camelopenaiproxy.config.Glob;

/**
 * Parses {@code upstreams.yaml} into the list of deployments. Without the file, the pool is one
 * OpenAI deployment from {@code OPENAI_BASE_URL} and {@code OPENAI_API_KEY}. Keys are never in the
 * file: {@code api_key_env} names the environment variable (or system property) that holds one.
 */
public final class UpstreamsFile {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private UpstreamsFile() {
    }

    public static List<Deployment> parse(byte[] content, Deployment fallback, UnaryOperator<String> secrets)
            throws Exception {
        if (content == null) {
            return List.of(fallback);
        }
        JsonNode list = YAML.readTree(content).path("upstreams");
        if (!list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException("'upstreams' must be a non-empty list");
        }
        List<Deployment> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonNode u : list) {
            String name = u.path("name").asText(null);
            if (name == null || name.isBlank() || !names.add(name)) {
                throw new IllegalArgumentException("every upstream needs a unique name");
            }
            Deployment.Type type = switch (u.path("type").asText("openai").toLowerCase(Locale.ROOT)) {
                case "openai" -> Deployment.Type.OPENAI;
                case "azure" -> Deployment.Type.AZURE;
                case "openai-compatible" -> Deployment.Type.OPENAI_COMPATIBLE;
                default -> throw new IllegalArgumentException(name + ": type must be openai, azure or openai-compatible");
            };
            String baseUrl = u.path("base_url").asText(null);
            if (baseUrl == null) {
                throw new IllegalArgumentException(name + ": base_url is required");
            }
            String keyEnv = u.path("api_key_env").asText(null);
            String key = keyEnv == null ? "" : secrets.apply(keyEnv);
            int weight = u.path("weight").asInt(1);
            if (weight < 1) {
                throw new IllegalArgumentException(name + ": weight must be at least 1");
            }
            List<Glob> models = new ArrayList<>();
            if (u.has("models")) {
                u.get("models").forEach(m -> models.add(Glob.of(m.asText())));
            } else {
                models.add(Glob.of("*"));
            }
            Map<String, String> deployments = new HashMap<>();
            u.path("deployments").fields().forEachRemaining(e -> deployments.put(e.getKey(), e.getValue().asText()));
            String apiVersion = u.path("api_version").asText(null);
            if (type == Deployment.Type.AZURE && apiVersion == null) {
                throw new IllegalArgumentException(name + ": an azure upstream needs api_version");
            }
            UpstreamTarget target = UpstreamTarget.fromBaseUrl(name, baseUrl, key == null ? "" : key);
            out.add(new Deployment(name, type, target, weight, u.path("priority").asInt(0), List.copyOf(models),
                    apiVersion, Map.copyOf(deployments), network(name, u, target)));
        }
        HostOverrides.of(out); // one address per host name
        return List.copyOf(out);
    }

    /** {@code egress_proxy}, {@code ca_file}, {@code address}: see {@link UpstreamNetwork}. */
    private static UpstreamNetwork network(String name, JsonNode u, UpstreamTarget target) {
        EgressProxy egress;
        try {
            egress = EgressProxy.parse(u.path("egress_proxy").asText(null));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage());
        }
        String caFile = u.path("ca_file").asText(null);
        String caPem = null;
        if (caFile != null) {
            if (!target.ssl()) {
                throw new IllegalArgumentException(name + ": ca_file needs an https base_url");
            }
            caPem = UpstreamNetwork.readCaFile(caFile);
        }
        String address = u.path("address").asText(null);
        if (address != null) {
            if (!HostOverrides.isIpAddress(address)) {
                throw new IllegalArgumentException(name + ": address must be an IP address");
            }
            if (HostOverrides.isIpAddress(target.host())) {
                throw new IllegalArgumentException(name + ": address needs a host name in base_url");
            }
        }
        if (egress == null && caFile == null && address == null) {
            return UpstreamNetwork.DEFAULT;
        }
        return new UpstreamNetwork(egress, caFile, caPem, address);
    }

    /** Looks a secret up by name: environment first, then system properties (handy for tests). */
    public static String secret(String name) {
        String value = System.getenv(name);
        return value != null ? value : System.getProperty(name, "");
    }
}
