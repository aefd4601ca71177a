package org.camelopenaiproxy.reload;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.apache.camel.ServiceStatus;
import org.apache.camel.spi.Resource;
import org.apache.camel.spi.RoutesLoader;
import org.apache.camel.spi.ShutdownStrategy;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.apache.camel.support.RouteWatcherReloadStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads an edited {@code routes/*.yaml} file without losing a request:
 * <ol>
 * <li>new requests are held at the {@link ReloadGate} and the exchanges running pipeline steps
 * drain (exchanges waiting for an upstream and open streams are not waited for: they no longer
 * run route steps);</li>
 * <li>the routes of the file are replaced;</li>
 * <li>if that fails (invalid YAML, unknown endpoint or bean, a route that does not start), the last
 * good version of the file is put back, so the previous routes keep serving, and the error is
 * logged;</li>
 * <li>the gate opens and the held requests run on the new routes.</li>
 * </ol>
 * Unlike Camel's default, Java routes are never removed.
 */
public class SafeRouteReloadStrategy extends RouteWatcherReloadStrategy {

    private static final Logger LOG = LoggerFactory.getLogger(SafeRouteReloadStrategy.class);

    private final ReloadGate gate;
    private final long drainMillis;
    private final Map<String, String> lastGood = new ConcurrentHashMap<>();
    private final AtomicLong applied = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile String lastRejection;

    public SafeRouteReloadStrategy(String directory, ReloadGate gate, long drainMillis) {
        super(directory, false);
        this.gate = gate;
        this.drainMillis = drainMillis;
        setPattern("*.yaml");
        setRemoveAllRoutes(false);
    }

    @Override
    protected void doStart() throws Exception {
        rememberCurrentFiles();
        super.doStart();
    }

    @Override
    protected synchronized void onRouteReload(Collection<Resource> resources, boolean removeEverything) {
        if (resources == null) {
            return;
        }
        for (Resource resource : resources) {
            reload(resource);
        }
    }

    private void reload(Resource resource) {
        String key = fileKey(resource.getLocation());
        String content;
        try (InputStream in = resource.getInputStream()) {
            content = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.warn("Route file {} is gone or unreadable ({}); its routes keep running", key, e.getMessage());
            return;
        }
        if (content.equals(lastGood.get(key))) {
            return;
        }
        RoutesLoader loader = PluginHelper.getRoutesLoader(getCamelContext());
        long started = System.nanoTime();
        gate.close();
        try {
            if (!gate.awaitQuiet(drainMillis, TimeUnit.MILLISECONDS)) {
                LOG.warn("Reloading {} with {} exchanges still running pipeline steps", key, gate.active());
            }
            withQuickRouteStop(() -> {
                try {
                    Set<String> ids = loader.updateRoutes(List.of(ResourceHelper.fromString(resource.getLocation(), content)));
                    for (String id : ids) {
                        if (getCamelContext().getRouteController().getRouteStatus(id) != ServiceStatus.Started) {
                            throw new IllegalStateException("route '" + id + "' did not start");
                        }
                    }
                    lastGood.put(key, content);
                    applied.incrementAndGet();
                    LOG.info("Reloaded routes {} from {} in {} ms", ids, key, (System.nanoTime() - started) / 1_000_000);
                } catch (Exception e) {
                    lastRejection = key + ": " + rootMessage(e);
                    LOG.error("Rejected the edit of {}. The previous routes keep serving.", lastRejection);
                    rejected.incrementAndGet();
                    restore(loader, resource.getLocation(), key);
                }
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            gate.open();
        }
    }

    /** Edits applied since start. */
    public long applied() {
        return applied.get();
    }

    /** Edits refused since start (the previous routes kept serving). */
    public long rejected() {
        return rejected.get();
    }

    /** Why the last refused edit was refused, or {@code null}. */
    public String lastRejection() {
        return lastRejection;
    }

    private void restore(RoutesLoader loader, String location, String key) {
        String previous = lastGood.get(key);
        if (previous == null) {
            return;
        }
        try {
            loader.updateRoutes(List.of(ResourceHelper.fromString(location, previous)));
        } catch (Exception e) {
            LOG.error("Could not restore the previous routes of {}: {}", key, rootMessage(e));
        }
    }

    /**
     * Route stops during a reload do not wait for exchanges parked on an upstream call (their
     * remaining work is their own completion callback), so the gate is closed for milliseconds,
     * not for the length of the slowest upstream answer.
     */
    private void withQuickRouteStop(Runnable work) {
        ShutdownStrategy strategy = getCamelContext().getShutdownStrategy();
        long timeout = strategy.getTimeout();
        TimeUnit unit = strategy.getTimeUnit();
        boolean suppress = strategy.isSuppressLoggingOnTimeout();
        boolean logInflight = strategy.isLogInflightExchangesOnTimeout();
        strategy.setTimeUnit(TimeUnit.MILLISECONDS);
        strategy.setTimeout(50);
        strategy.setSuppressLoggingOnTimeout(true);
        strategy.setLogInflightExchangesOnTimeout(false);
        try {
            work.run();
        } finally {
            strategy.setTimeUnit(unit);
            strategy.setTimeout(timeout);
            strategy.setSuppressLoggingOnTimeout(suppress);
            strategy.setLogInflightExchangesOnTimeout(logInflight);
        }
    }

    private void rememberCurrentFiles() throws IOException {
        Path dir = Path.of(getFolder());
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.getFileName().toString().endsWith(".yaml")) {
                    lastGood.put(fileKey(p.toString()), Files.readString(p));
                }
            }
        }
    }

    private static String fileKey(String location) {
        String path = location.startsWith("file:") ? location.substring(5) : location;
        return new File(path).getName();
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
