package org.camelopenaiproxy.unit;

import java.util.List;

import org.camelopenaiproxy.config.Glob;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Allow-list patterns: {@code *} any run, {@code ?} one character, everything else literal. */
class GlobTest {

    @Test
    void a_star_matches_any_run_including_none() {
        Glob g = Glob.of("gpt-4o*");
        assertTrue(g.matches("gpt-4o"));
        assertTrue(g.matches("gpt-4o-mini"));
        assertFalse(g.matches("gpt-4"));
        assertFalse(g.matches("my-gpt-4o"), "the pattern is anchored at both ends");
    }

    @Test
    void a_question_mark_matches_exactly_one_character() {
        Glob g = Glob.of("o?");
        assertTrue(g.matches("o1"));
        assertFalse(g.matches("o"));
        assertFalse(g.matches("o1-mini"));
    }

    @Test
    void regex_characters_are_literal() {
        Glob g = Glob.of("/v1/files/*.jsonl");
        assertTrue(g.matches("/v1/files/batch.jsonl"));
        assertFalse(g.matches("/v1/files/batchXjsonl"), "the dot is a dot");
        assertTrue(Glob.of("a+b").matches("a+b"));
        assertFalse(Glob.of("a+b").matches("aab"));
        assertTrue(Glob.of("(x)[y]").matches("(x)[y]"));
        assertTrue(Glob.of("\\Q*\\E").matches("\\Qanything\\E"), "quoting in the pattern cannot escape");
    }

    @Test
    void a_missing_value_never_matches() {
        assertFalse(Glob.of("*").matches(null));
        assertTrue(Glob.of("*").matches(""));
    }

    @Test
    void no_allow_list_allows_everything_an_empty_one_nothing() {
        assertTrue(Glob.anyMatches(null, "gpt-4o"));
        assertFalse(Glob.anyMatches(List.of(), "gpt-4o"));
        List<Glob> list = List.of(Glob.of("gpt-4o*"), Glob.of("text-embedding-3-small"));
        assertTrue(Glob.anyMatches(list, "text-embedding-3-small"));
        assertFalse(Glob.anyMatches(list, "text-embedding-3-large"));
    }
}
