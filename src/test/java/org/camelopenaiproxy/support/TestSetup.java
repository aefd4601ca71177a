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

    private final String name;
    private final Path dir;

    private TestSetup(String name) {
        this.name = name;
        try {
            this.dir = Files.createTempDirectory("proxy-test-" + name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A set-up whose properties are {@code test.<name>.*}. */
    public static TestSetup named(String name) {
        return new TestSetup(name);
    }

    /** A keys file ({@code {{hash:KEY}}} becomes the key's SHA-256): {@code test.<name>.keys}. */
    public TestSetup keys(String yaml) {
        Path file = dir.resolve("keys.yaml");
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
        return file("upstreams", "upstreams.yaml",
                yaml.replace("{{wiremock}}", "http://127.0.0.1:" + TestEnv.upstream().port()));
    }

    /** Any file in this set-up's directory, its path as {@code test.<name>.<property>}. */
    public TestSetup file(String property, String fileName, String content) {
        Path file = dir.resolve(fileName);
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

    /** The file {@code fileName} of this set-up (whether written yet or not). */
    public Path path(String fileName) {
        return dir.resolve(fileName);
    }

    /** The keys file. */
    public Path keysFile() {
        return path("keys.yaml");
    }

    public Path dir() {
        return dir;
    }
}
