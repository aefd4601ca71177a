package org.camelopenaiproxy.upstream;

import java.net.URI;

/**
 * One upstream deployment: where requests go and the key they carry. {@code baseUrl} follows the
 * OpenAI SDKs' convention and includes {@code /v1} (e.g. {@code https://api.openai.com/v1}); a
 * client path {@code /v1/chat/completions} goes to {@code baseUrl + /chat/completions}.
 */
public record UpstreamTarget(String name, String host, int port, boolean ssl, String basePath, String apiKey) {

    public static UpstreamTarget fromBaseUrl(String name, String baseUrl, String apiKey) {
        URI uri = URI.create(baseUrl.trim());
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
            throw new IllegalArgumentException("Upstream base URL must be http or https: " + baseUrl);
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("Upstream base URL has no host: " + baseUrl);
        }
        boolean ssl = scheme.equalsIgnoreCase("https");
        int port = uri.getPort() > 0 ? uri.getPort() : (ssl ? 443 : 80);
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return new UpstreamTarget(name, uri.getHost(), port, ssl, path, apiKey == null ? "" : apiKey);
    }

    /** The upstream URI (path and query) for a client path under {@code /v1/}. */
    public String uriFor(String clientPath, String query) {
        String rest = clientPath.startsWith("/v1/") ? clientPath.substring(3) : clientPath;
        String uri = basePath + rest;
        return query == null || query.isEmpty() ? uri : uri + '?' + query;
    }

    @Override
    public String toString() {
        return name + " (" + (ssl ? "https" : "http") + "://" + host + ":" + port + basePath + ")";
    }
}
