package org.camelopenaiproxy.wiring;

import java.util.Arrays;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.apache.camel.spi.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Small helpers the configuration classes share. */
final class Beans {

    private static final Logger LOG = LoggerFactory.getLogger(Beans.class);

    private Beans() {
    }

    /**
     * The bean {@code name} if one is bound already (a shared store, or a test's clock), else the
     * embedded one {@code made}; the {@code @BindToRegistry} method returning it binds it under that name.
     */
    @SuppressWarnings("unchecked")
    static <T> T boundOr(Registry registry, String name, Class<? super T> type, Supplier<T> made) {
        Object bound = registry.lookupByNameAndType(name, type);
        if (bound != null) {
            LOG.info("Using the bound {} '{}'", type.getSimpleName(), name);
            return (T) bound;
        }
        return made.get();
    }

    /** The non-blank trimmed items of a comma-separated property. */
    static Set<String> items(String commaSeparated) {
        return Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                .collect(Collectors.toSet());
    }
}
