package org.camelopenaiproxy.request;

/**
 * Case-insensitive comparison of header names and media types with lower-case ASCII constants, in
 * place: the same answer as {@code toLowerCase(Locale.ROOT)} then {@code startsWith}/{@code equals}
 * for these constants (none contains a 'k', the one ASCII letter a non-ASCII character, the Kelvin
 * sign, lower-cases to), without a lower-cased copy per request.
 */
public final class AsciiCase {

    private AsciiCase() {
    }

    /** Whether {@code text} from {@code from} on starts with {@code lower} (ASCII lower case), ignoring case. */
    public static boolean regionMatches(String text, int from, String lower) {
        int n = lower.length();
        if (from < 0 || text.length() - from < n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = text.charAt(from + i);
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c + ('a' - 'A'));
            }
            if (c != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code text} starts with {@code lower} (ASCII lower case), ignoring case. */
    public static boolean startsWith(String text, String lower) {
        return regionMatches(text, 0, lower);
    }

    /** Whether {@code text} equals {@code lower} (ASCII lower case), ignoring case. */
    public static boolean equals(String text, String lower) {
        return text.length() == lower.length() && regionMatches(text, 0, lower);
    }
}
