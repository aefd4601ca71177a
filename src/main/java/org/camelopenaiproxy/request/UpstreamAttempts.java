package org.camelopenaiproxy.request;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A request's way upstream: the attempts so far (oldest first), once a response head arrived the
 * deployment that answered and the upstream's own {@code x-request-id}, and the masked error body
 * of the last attempt that failed with a status (for the dead-letter record).
 */
public record UpstreamAttempts(List<Attempt> tried, String deployment, String upstreamRequestId,
        String lastErrorBody) {

    static final UpstreamAttempts NONE = new UpstreamAttempts(List.of(), null, null, null);

    UpstreamAttempts plus(Attempt attempt) {
        List<Attempt> more = new ArrayList<>(tried.size() + 1);
        more.addAll(tried);
        more.add(attempt);
        return new UpstreamAttempts(List.copyOf(more), deployment, upstreamRequestId, lastErrorBody);
    }

    UpstreamAttempts answeredBy(String deployment, String upstreamRequestId) {
        return new UpstreamAttempts(tried, deployment, upstreamRequestId, lastErrorBody);
    }

    UpstreamAttempts withLastErrorBody(String body) {
        return new UpstreamAttempts(tried, deployment, upstreamRequestId, body);
    }

    /** The deployments tried so far. */
    public Set<String> deployments() {
        Set<String> names = new HashSet<>();
        for (Attempt a : tried) {
            names.add(a.deployment());
        }
        return names;
    }
}
