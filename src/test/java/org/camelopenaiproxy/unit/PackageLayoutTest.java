package org.camelopenaiproxy.unit;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;

import org.camelopenaiproxy.ProxyMain;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The package layout (README "Code layout"): no package depends on itself through others, and what a
 * request carries ({@code request}) and the vocabulary below it depend on no step. The graph is read
 * from the compiled classes with the JDK's own {@code jdeps}, so it sees every reference the compiler
 * kept, not only imports.
 */
class PackageLayoutTest {

    private static final String ROOT = "org.camelopenaiproxy";
    private static final Pattern EDGE = Pattern.compile("^\\s+(\\S+)\\s+->\\s+(\\S+)\\s");

    /** The bottom of the layout: every other package may use these, they use only each other. */
    private static final Set<String> MODEL = Set.of("request", "errors", "config", "secrets");

    /** package -> package it uses -> the class references that make the edge */
    private static Map<String, Map<String, Set<String>>> graph;

    @BeforeAll
    static void readGraph() throws Exception {
        Path classes = Path.of(ProxyMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(classes), "the proxy's compiled classes as a directory: " + classes);
        graph = packageGraph(classes);
    }

    @Test
    void no_package_reaches_itself_through_others() {
        List<Set<String>> cycles = cycles(graph);
        assertTrue(cycles.isEmpty(), () -> "package cycles (README 'Code layout'):\n" + cycles.stream()
                .map(PackageLayoutTest::describe).collect(Collectors.joining("\n")));
    }

    @Test
    void what_a_request_carries_depends_on_no_step() {
        Map<String, Set<String>> wrong = new TreeMap<>();
        for (String model : MODEL) {
            for (var edge : graph.getOrDefault(model, Map.of()).entrySet()) {
                if (!MODEL.contains(edge.getKey())) {
                    wrong.put(model + " -> " + edge.getKey(), edge.getValue());
                }
            }
        }
        assertEquals(Map.of(), wrong, "request, errors, config and secrets use only each other");
    }

    @Test
    void the_graph_is_the_real_one() {
        // guards the two tests above against passing on an empty or misread graph
        assertTrue(graph.keySet().containsAll(List.of("inbound", "pipeline.auth", "upstream", "relay", "request")),
                "packages read: " + graph.keySet());
        assertTrue(graph.get("wiring").containsKey("inbound"), "wiring builds the listener");
        assertTrue(graph.get("relay").containsKey("upstream"), "the relay reads the upstream's answer");
    }

    @Test
    void the_cycle_finder_finds_a_cycle_and_only_the_cycle() {
        Map<String, Map<String, Set<String>>> g = new HashMap<>();
        g.put("a", Map.of("b", Set.of()));
        g.put("b", Map.of("c", Set.of(), "d", Set.of()));
        g.put("c", Map.of("a", Set.of()));
        g.put("d", Map.of("e", Set.of()));
        assertEquals(List.of(Set.of("a", "b", "c")), cycles(g));
        g.put("e", Map.of("e", Set.of())); // a package using itself is no cycle between packages
        assertEquals(List.of(Set.of("a", "b", "c")), cycles(g));
        g.put("c", Map.of());
        assertEquals(List.of(), cycles(g));
    }

    private static Map<String, Map<String, Set<String>>> packageGraph(Path classes) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps")
                .orElseThrow(() -> new AssertionError("jdeps not found: run the tests on a JDK"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = jdeps.run(new PrintWriter(out), new PrintWriter(err),
                "-verbose:class", "-filter:none", classes.toString());
        assertEquals(0, exit, () -> "jdeps failed: " + err);
        Map<String, Map<String, Set<String>>> g = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            Matcher m = EDGE.matcher(line);
            if (!m.find() || !m.group(1).startsWith(ROOT + ".") || !m.group(2).startsWith(ROOT + ".")) {
                continue;
            }
            String from = packageOf(m.group(1));
            String to = packageOf(m.group(2));
            if (!from.equals(to)) {
                g.computeIfAbsent(from, k -> new TreeMap<>()).computeIfAbsent(to, k -> new TreeSet<>())
                        .add(simpleName(m.group(1)) + " -> " + simpleName(m.group(2)));
            }
            g.computeIfAbsent(to, k -> new TreeMap<>());
        }
        return g;
    }

    /** {@code org.camelopenaiproxy.pipeline.auth.KeyTable$Entry} -> {@code pipeline.auth}; the root is {@code ""}. */
    private static String packageOf(String className) {
        String name = className.substring(0, className.lastIndexOf('.'));
        return name.equals(ROOT) ? "" : name.substring(ROOT.length() + 1);
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1).replaceAll("\\$.*", "");
    }

    /** The strongly connected components of more than one package (Tarjan), each sorted. */
    static List<Set<String>> cycles(Map<String, Map<String, Set<String>>> g) {
        return new Tarjan(g).run();
    }

    private static String describe(Set<String> cycle) {
        StringBuilder b = new StringBuilder("  " + cycle + ":");
        for (String from : cycle) {
            for (var edge : graph.getOrDefault(from, Map.of()).entrySet()) {
                if (cycle.contains(edge.getKey())) {
                    List<String> refs = new ArrayList<>(edge.getValue());
                    b.append("\n    ").append(from).append(" -> ").append(edge.getKey()).append(' ')
                            .append(refs.subList(0, Math.min(3, refs.size())))
                            .append(refs.size() > 3 ? " and " + (refs.size() - 3) + " more" : "");
                }
            }
        }
        return b.toString();
    }

    private static final class Tarjan {
        private final Map<String, Map<String, Set<String>>> g;
        private final Map<String, Integer> index = new HashMap<>();
        private final Map<String, Integer> low = new HashMap<>();
        private final Deque<String> stack = new ArrayDeque<>();
        private final Set<String> onStack = new TreeSet<>();
        private final List<Set<String>> found = new ArrayList<>();

        Tarjan(Map<String, Map<String, Set<String>>> g) {
            this.g = g;
        }

        List<Set<String>> run() {
            for (String v : new TreeSet<>(g.keySet())) {
                if (!index.containsKey(v)) {
                    visit(v);
                }
            }
            return found;
        }

        private void visit(String v) {
            index.put(v, index.size());
            low.put(v, index.get(v));
            stack.push(v);
            onStack.add(v);
            for (String w : g.getOrDefault(v, Map.of()).keySet()) {
                if (w.equals(v)) {
                    continue;
                }
                if (!index.containsKey(w)) {
                    visit(w);
                    low.put(v, Math.min(low.get(v), low.get(w)));
                } else if (onStack.contains(w)) {
                    low.put(v, Math.min(low.get(v), index.get(w)));
                }
            }
            if (low.get(v).equals(index.get(v))) {
                Set<String> component = new TreeSet<>();
                String w;
                do {
                    w = stack.pop();
                    onStack.remove(w);
                    component.add(w);
                } while (!w.equals(v));
                if (component.size() > 1) {
                    found.add(component);
                }
            }
        }
    }
}
