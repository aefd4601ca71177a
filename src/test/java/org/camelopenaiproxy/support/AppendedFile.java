package org.camelopenaiproxy.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * The complete lines of a file another thread is appending to (access log, dead letters).
 * {@code Files.readAllLines} is wrong for this: its reader does not stop at end of file, so a
 * record whose newline is appended while it reads comes back as the record and then an extra
 * empty line (seen in CI as a third dead letter). This reads the bytes once and keeps only what
 * ends with a newline: a line still being written is not a line yet.
 */
public final class AppendedFile {

    private AppendedFile() {
    }

    /** The lines that end with a newline so far, without it; none when the file does not exist. */
    public static List<String> lines(Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException none) {
            return List.of();
        }
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end == 0) {
            return List.of();
        }
        return List.of(new String(bytes, 0, end - 1, StandardCharsets.UTF_8).split("\n", -1));
    }
}
