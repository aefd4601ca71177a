package org.camelopenaiproxy.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An immutable snapshot parsed from a config file, swapped atomically when the file changes.
 * {@link #refresh()} is called from the {@link ConfigWatcher} thread, never from an event loop.
 * A file that fails to parse is reported and the previous snapshot keeps serving.
 */
public final class WatchedFile<T> {

    /** Parses a file's bytes into a snapshot; {@code null} bytes mean the file does not exist. */
    @FunctionalInterface
    public interface Parser<T> {
        T parse(byte[] content) throws Exception;
    }

    private static final Logger LOG = LoggerFactory.getLogger(WatchedFile.class);

    private final Path path;
    private final Parser<T> parser;
    private final AtomicReference<T> current = new AtomicReference<>();
    private volatile Object stamp = "unread";

    public WatchedFile(Path path, Parser<T> parser) throws Exception {
        this.path = path;
        this.parser = parser;
        this.stamp = stampOf(path);
        current.set(parser.parse(read(path)));
    }

    public T get() {
        return current.get();
    }

    public Path path() {
        return path;
    }

    /** Re-reads the file if its size or modification time changed. Returns true when a new snapshot was taken. */
    public synchronized boolean refresh() {
        Object now = stampOf(path);
        if (Objects.equals(now, stamp)) {
            return false;
        }
        try {
            T next = parser.parse(read(path));
            current.set(next);
            stamp = now;
            LOG.info("Reloaded {}", path);
            return true;
        } catch (Exception e) {
            stamp = now; // report a broken edit once, not at every poll
            LOG.error("Ignoring the edit of {}: {} (the previous version stays in force)", path, e.getMessage());
            return false;
        }
    }

    private static Object stampOf(Path path) {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            return a.lastModifiedTime().toMillis() + ":" + a.size() + ":" + a.fileKey();
        } catch (IOException e) {
            return "missing";
        }
    }

    private static byte[] read(Path path) throws IOException {
        try {
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            return null;
        }
    }
}
