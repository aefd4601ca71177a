package org.camelopenaiproxy.e2e;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/camel-openai-proxy}: it starts the jar with the class archive {@code mvn package} trained
 * for this JVM, and without it, cleanly, when the archive is unusable. Runs the short {@code keys add}
 * command, which goes through the same launcher and JVM options as the server.
 */
class LauncherIT {

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    static Run launch(Path launcher, Path dir, String javaOpts) throws Exception {
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "keys", "add", "--name", "launcher",
                "--file", dir.resolve("keys.yaml").toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("JAVA_OPTS", javaOpts);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "launcher did not finish in 60 s");
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    static Path archiveForThisJvm(Path root) throws Exception {
        try (Stream<Path> files = Files.list(root.resolve("target/jvm-cache"))) {
            String home = Path.of(System.getProperty("java.home")).toRealPath().getFileName().toString();
            List<Path> mine = files.filter(f -> f.getFileName().toString().startsWith(home + "-")).toList();
            assertEquals(1, mine.size(), "one archive for " + home + " in target/jvm-cache (mvn package trains it): " + mine);
            return mine.get(0);
        }
    }

    /** {@code root/bin/camel-openai-proxy}, a copy of the launcher, and an empty {@code root/target/jvm-cache}. */
    static Path copyOfLauncher(Path root) throws Exception {
        Files.createDirectories(root.resolve("bin"));
        Files.createDirectories(root.resolve("target/jvm-cache"));
        return Files.copy(Path.of("bin/camel-openai-proxy"), root.resolve("bin/camel-openai-proxy"),
                StandardCopyOption.COPY_ATTRIBUTES);
    }

    @Test
    void the_jar_starts_from_the_archive_mvn_package_trained() throws Exception {
        archiveForThisJvm(Path.of("."));
        Path classes = dir.resolve("classes.log");
        Run run = launch(Path.of("bin/camel-openai-proxy"), dir, "-Xlog:class+load=info:file=" + classes);

        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().trim().startsWith("sk-proxy-"), run.out());
        String loaded = Files.readString(classes, StandardCharsets.UTF_8);
        assertTrue(loaded.contains("org.camelopenaiproxy.ProxyMain source: shared objects file"),
                "ProxyMain came from the archive, not the jar: "
                        + loaded.lines().filter(l -> l.contains("org.camelopenaiproxy.ProxyMain ")).toList());
    }

    @Test
    void an_archive_trained_before_the_last_build_is_left_out_and_the_jvm_keeps_its_own() throws Exception {
        // a copy of the launcher, the jar rebuilt (newer) since its archive for this JVM was trained
        Path root = dir.resolve("root");
        Path launcher = copyOfLauncher(root);
        Path jar = Files.copy(Path.of("target/camel-openai-proxy.jar"), root.resolve("target/camel-openai-proxy.jar"));
        Path trained = archiveForThisJvm(Path.of("."));
        Path stale = Files.copy(trained, root.resolve("target/jvm-cache").resolve(trained.getFileName()));
        Files.setLastModifiedTime(stale, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() - 3_600_000));
        Path classes = dir.resolve("classes.log");

        Run run = launch(launcher, dir, "-Xlog:class+load=info:file=" + classes);

        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("sk-proxy-"), run.out());
        assertTrue(run.err().contains("older than the jar"), "the launcher says why it left the archive out: " + run.err());
        // handed the stale archive, the JVM would refuse it with a [cds] (Java 17) or [aot] (Java 25) warning
        assertFalse(run.err().contains("[cds") || run.err().contains("[aot"),
                "the JVM was not handed the stale archive: " + run.err());
        // Java 25, refusing an AOT cache it was given, also drops the JDK's default class archive; Java 17 keeps it
        String loaded = Files.readString(classes, StandardCharsets.UTF_8);
        assertTrue(loaded.contains("java.lang.Object source: shared objects file"),
                "the JDK's own class archive is still used: "
                        + loaded.lines().filter(l -> l.contains("java.lang.Object ")).toList());
    }

    @Test
    void an_unusable_archive_is_skipped_with_a_warning_on_stderr_only() throws Exception {
        // a copy of the launcher and jar whose archive for this JVM is garbage
        Path root = dir.resolve("root");
        Path launcher = copyOfLauncher(root);
        Files.copy(Path.of("target/camel-openai-proxy.jar"), root.resolve("target/camel-openai-proxy.jar"),
                StandardCopyOption.COPY_ATTRIBUTES);
        Path trained = archiveForThisJvm(Path.of("."));
        Files.writeString(root.resolve("target/jvm-cache").resolve(trained.getFileName()), "not an archive");

        Run run = launch(launcher, dir, "");

        assertEquals(0, run.exit(), run.err());
        assertEquals(1, run.out().lines().count(), "stdout holds the key and nothing else: " + run.out());
        assertTrue(run.out().startsWith("sk-proxy-"), run.out());
        assertFalse(run.err().isBlank(), "the JVM says on stderr that it did not use the archive");
    }
}
