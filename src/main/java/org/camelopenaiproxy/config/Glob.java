package org.camelopenaiproxy.config;

import java.util.List;
import java.util.regex.Pattern;

/** A {@code *} / {@code ?} wildcard pattern, as used in allow-lists ({@code gpt-4o*}, {@code /v1/files/*}). */
public record Glob(String text, Pattern pattern) {

    public static Glob of(String text) {
        StringBuilder regex = new StringBuilder();
        for (char c : text.toCharArray()) {
            switch (c) {
                case '*' -> regex.append(".*");
                case '?' -> regex.append('.');
                default -> regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return new Glob(text, Pattern.compile(regex.toString()));
    }

    public boolean matches(String value) {
        return value != null && pattern.matcher(value).matches();
    }

    /** True when any of the globs matches; a {@code null} list (no allow-list) allows everything. */
    public static boolean anyMatches(List<Glob> globs, String value) {
        if (globs == null) {
            return true;
        }
        for (Glob g : globs) {
            if (g.matches(value)) {
                return true;
            }
        }
        return false;
    }
}
