package org.camelopenaiproxy.observe;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The model as a metric label, from a bounded set: a model name becomes a label value once an
 * upstream has served it (so made-up names sent by clients cannot grow the set), up to a maximum
 * number of names; everything else is {@code other}, a request without a model {@code none}.
 */
public final class ModelLabels {

    public static final String OTHER = "other";
    public static final String NONE = "none";
    private static final Pattern PLAUSIBLE = Pattern.compile("[A-Za-z0-9._:/@+-]{1,100}");

    private final int max;
    private final Set<String> known = ConcurrentHashMap.newKeySet();
    /** The last known model labelled: most traffic is one model, and one compare is cheaper than the set. */
    private volatile String last;

    public ModelLabels(int max) {
        this.max = max;
    }

    /** @param served whether an upstream (or the cache) answered this model successfully */
    public String label(String model, boolean served) {
        if (model == null || model.isEmpty()) {
            return NONE;
        }
        String recent = last;
        if (model.equals(recent)) {
            return recent;
        }
        if (known.contains(model)) {
            last = model;
            return model;
        }
        if (served && known.size() < max && PLAUSIBLE.matcher(model).matches()) {
            known.add(model);
            last = model;
            return model;
        }
        return OTHER;
    }
}
