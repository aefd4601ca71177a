package org.camelopenaiproxy.config;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.camel.support.service.ServiceSupport;

/**
 * Polls the watched config files (keys, upstreams) on one daemon thread so that edits take effect
 * without a restart. File I/O never happens on a Vert.x event loop.
 */
public class ConfigWatcher extends ServiceSupport {

    private final List<WatchedFile<?>> files = new CopyOnWriteArrayList<>();
    private final long pollMillis;
    private ScheduledExecutorService scheduler;

    public ConfigWatcher(long pollMillis) {
        this.pollMillis = pollMillis;
    }

    public <T> WatchedFile<T> watch(WatchedFile<T> file) {
        files.add(file);
        return file;
    }

    /** Checks every file now; used by the poller and by tests that must not wait for a poll. */
    public void checkNow() {
        for (WatchedFile<?> f : files) {
            f.refresh();
        }
    }

    @Override
    protected void doStart() {
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "proxy-config-watcher");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::checkNow, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }
}
