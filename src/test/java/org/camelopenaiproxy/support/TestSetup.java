package org.camelopenaiproxy.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One route test's own files and settings, built before its proxy starts: a keys file, an
 * upstreams file, any other file, and plain values. Each is exposed as the system property
 * {@code test.<name>.<what>}, which the test's {@code @CamelMainTest} properties read as
 * {@code {{sys:test.<name>.<what>}}} (an annotation cannot hold a computed value). This is the
 * only place route tests write set-up files and system properties.
 * <pre>
 * static final TestSetup SETUP = TestSetup.named("cache").keys("""
 *         keys:
 *           - name: tenant-a
 *             key_sha256: {{hash:sk-tenant-a}}
 *         """);        // -> proxy.keys.file={{sys:test.cache.keys}}
 * </pre>
 */
public final class TestSetup {

    /** Work done on the set-up's directory (certificates, a copy of the routes...). */
    @FunctionalInterface
    public interface Preparation {
        void prepare(Path dir) throws Exception;
    }

    private final String name;
    private Path dir;

    private TestSetup(String name) {
        this.name = name;
    }

    /** A set-up whose properties are {@code test.<name>.*}. */
    public static TestSetup named(String name) {
        return new TestSetup(name);
    }

    /** A keys file ({@code {{hash:KEY}}} becomes the key's SHA-256): {@code test.<name>.keys}. */
    public TestSetup keys(String yaml) {
        Path file = path("keys.yaml");
        try {
            TestEnv.rewriteKeys(file, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return value("keys", file.toString());
    }

    /**
     * An upstreams file: {@code test.<name>.upstreams}; {@code {{wiremock}}} becomes the shared
     * WireMock upstream's base URL (without {@code /v1}).
     */
    public TestSetup upstreams(String yaml) {
        return file("upstreams", "upstreams.yaml", !yaml.contains("{{wiremock}}") ? yaml
                : yaml.replace("{{wiremock}}", "http://127.0.0.1:" + TestEnv.upstream().port()));
    }

    /** Any file in this set-up's directory, its path as {@code test.<name>.<property>}. */
    public TestSetup file(String property, String fileName, String content) {
        Path file = path(fileName);
        try {
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return value(property, file.toString());
    }

    /** A plain value as {@code test.<name>.<property>}. */
    public TestSetup value(String property, String value) {
        System.setProperty("test." + name + "." + property, value);
        return this;
    }

    /** The path of this set-up's file {@code fileName} (written later, e.g. a log) as {@code test.<name>.<property>}. */
    public TestSetup expose(String property, String fileName) {
        return value(property, path(fileName).toString());
    }

    /**
     * A secret an upstreams file names in {@code api_key_env}: the proxy reads such a variable from
     * the environment, else from this system property.
     */
    public TestSetup secret(String variable, String value) {
        System.setProperty(variable, value);
        return this;
    }

    /** Runs {@code preparation} on this set-up's directory. */
    public TestSetup prepare(Preparation preparation) {
        try {
            preparation.prepare(dir());
        } catch (Exception e) {
            throw new IllegalStateException("test set-up '" + name + "' failed", e);
        }
        return this;
    }

    /** This set-up's directory as {@code test.<name>.dir}. */
    public TestSetup exposeDir() {
        return value("dir", dir().toString());
    }

    /** The file {@code fileName} of this set-up (whether written yet or not). */
    public Path path(String fileName) {
        return dir().resolve(fileName);
    }

    /** The keys file. */
    public Path keysFile() {
        return path("keys.yaml");
    }

    /** A temporary directory of this set-up's own, made on first use. */
    public Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("proxy-test-" + name);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }
}
