package org.camelopenaiproxy.secrets;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Removes secrets from text before it is logged: the exact keys it is given (the upstream keys, the
 * key the client presented) and anything matching the built-in patterns (OpenAI-style {@code sk-}
 * keys, also partially masked ones like {@code sk-abc***xyz}, {@code Bearer} tokens,
 * {@code "api_key": "..."}-like fields) or the configured ones.
 */
public final class Redactor {

    public static final String MASK = "[REDACTED]";

    static final List<Pattern> BUILT_IN = List.of(
            // a key shown in part, as OpenAI's 401 does ("Incorrect API key provided: sk-proj-****abcd")
            Pattern.compile("sk-[A-Za-z0-9_\\-]*(?:\\*+|\\.{3}|\u2026)[A-Za-z0-9_\\-*]*"),
            Pattern.compile("sk-[A-Za-z0-9_\\-]{8,}"),
            Pattern.compile("(?i)(bearer\\s+)[A-Za-z0-9._~+/=\\-]{8,}"),
            Pattern.compile("(?i)(\"?(?:api[-_]?key|authorization|password|secret|client_secret|access_token)\"?\\s*[:=]\\s*\"?)"
                    + "[^\"\\s,}]{4,}"));

    private final List<String> secrets;
    private final List<Pattern> patterns;

    public Redactor(Collection<String> secrets, List<Pattern> extraPatterns) {
        List<String> kept = new ArrayList<>();
        for (String s : secrets) {
            if (s != null && s.length() >= 6) {
                kept.add(s);
            }
        }
        this.secrets = List.copyOf(kept);
        List<Pattern> all = new ArrayList<>(BUILT_IN);
        all.addAll(extraPatterns);
        this.patterns = List.copyOf(all);
    }

    /** This redactor plus more exact secrets (e.g. the key one request presented). */
    public Redactor with(Collection<String> moreSecrets) {
        List<String> all = new ArrayList<>(secrets);
        all.addAll(moreSecrets);
        List<Pattern> extra = patterns.subList(BUILT_IN.size(), patterns.size());
        return new Redactor(all, extra);
    }

    public String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text;
        for (String secret : secrets) {
            out = out.replace(secret, MASK);
        }
        for (Pattern p : patterns) {
            Matcher m = p.matcher(out);
            if (m.find()) {
                out = m.replaceAll(r -> Matcher.quoteReplacement((r.groupCount() >= 1 && r.group(1) != null ? r.group(1) : "") + MASK));
            }
        }
        return out;
    }
}
