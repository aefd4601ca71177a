package org.camelopenaiproxy.support;

import java.net.http.HttpResponse;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads values out of the proxy's Prometheus text at {@code /observe/metrics}. */
public final class Metrics {

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+(\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    private final String text;

    private Metrics(String text) {
        this.text = text;
    }

    public static Metrics scrape(ProxyClient client) throws Exception {
        HttpResponse<String> response = client.send(client.request("/observe/metrics").GET().build());
        if (response.statusCode() != 200) {
            throw new AssertionError("/observe/metrics answered " + response.statusCode());
        }
        return new Metrics(response.body());
    }

    public String text() {
        return text;
    }

    /** The sum of every sample of {@code name} whose labels include all of {@code labels} (0 if none). */
    public double value(String name, Map<String, String> labels) {
        double sum = 0;
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches() || !m.group(1).equals(name)) {
                continue;
            }
            Map<String, String> have = new java.util.HashMap<>();
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                while (l.find()) {
                    have.put(l.group(1), l.group(2));
                }
            }
            if (have.entrySet().containsAll(labels.entrySet())) {
                sum += Double.parseDouble(m.group(4));
            }
        }
        return sum;
    }

    public double value(String name, String... labelPairs) {
        Map<String, String> labels = new java.util.HashMap<>();
        for (int i = 0; i < labelPairs.length; i += 2) {
            labels.put(labelPairs[i], labelPairs[i + 1]);
        }
        return value(name, labels);
    }
}
