package org.camelopenaiproxy.unit;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.apache.camel.AsyncCallback;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.OnExceptionDefinition;
import org.apache.camel.model.ProcessDefinition;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.support.AsyncProcessorSupport;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.camelopenaiproxy.pipeline.FusedSteps;
import org.camelopenaiproxy.pipeline.StepFusion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Consecutive plain {@code process} steps of a YAML route run as one Camel step, with the same
 * outcome as Camel's own pipeline: the file's order, a stop at an exception (answered by the
 * route's error handler), at an answer that ends routing, and a waiting step carrying on from its
 * callback. What is not plain, or wants to see every step, stays as written.
 */
class StepFusionTest {

    private final List<String> ran = new CopyOnWriteArrayList<>();
    private final CamelContext context = new DefaultCamelContext();
    private final CompletableFuture<Runnable> waiting = new CompletableFuture<>();

    private Processor step(String name) {
        return exchange -> {
            ran.add(name + (exchange.getMessage().getHeader("inserted") != null ? "+inserted" : ""));
            if ("fails".equals(exchange.getMessage().getHeader("at")) && name.equals("b")) {
                throw new IllegalStateException("refused at b");
            }
            if ("answers".equals(exchange.getMessage().getHeader("at")) && name.equals("b")) {
                exchange.getMessage().setBody("answered at b");
                exchange.setRouteStop(true);
            }
        };
    }

    /** A step that waits: it goes on when the test runs the callback it left in {@link #waiting}. */
    private Processor waits(String name) {
        return new AsyncProcessorSupport() {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                ran.add(name);
                waiting.complete(() -> callback.done(false));
                return false;
            }
        };
    }

    private void start(String yaml, boolean fuse) throws Exception {
        for (String name : List.of("a", "b", "c", "d", "e")) {
            context.getRegistry().bind(name, step(name));
        }
        context.getRegistry().bind("w", waits("w"));
        if (fuse) {
            StepFusion.install(context);
        }
        context.start();
        PluginHelper.getRoutesLoader(context).loadRoutes(ResourceHelper.fromString("test.camel.yaml", yaml));
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    private static String route(String steps) {
        return """
                - routeConfiguration:
                    id: errors
                    onException:
                      - onException:
                          exception: [java.lang.Exception]
                          handled: {constant: "true"}
                          steps:
                            - setBody: {simple: "error: ${exception.message}"}
                - route:
                    id: test
                    routeConfigurationId: errors
                    from:
                      uri: direct:test
                      steps:
                """ + steps.indent(8);
    }

    private static final String FIVE_STEPS = """
            - process: {ref: a}
            - process: {ref: b}
            - setHeader: {name: inserted, constant: "yes"}
            - process: {ref: c}
            - process: {ref: d}
            - setBody: {simple: "done"}
            """;

    /** The route's steps as Camel will run them (without the route configuration's onException). */
    private List<ProcessorDefinition<?>> steps() {
        return ((ModelCamelContext) context).getRouteDefinition("test").getOutputs().stream()
                .filter(step -> !(step instanceof OnExceptionDefinition)).toList();
    }

    private Object send(String at) {
        ProducerTemplate template = context.createProducerTemplate();
        return template.requestBodyAndHeader("direct:test", "", "at", at);
    }

    @Test
    void runs_of_plain_steps_become_one_step_each_and_run_in_the_files_order() throws Exception {
        start(route(FIVE_STEPS), true);
        assertEquals(4, steps().size(), "a+b, setHeader, c+d, setBody");
        FusedSteps first = assertInstanceOf(FusedSteps.class, ((ProcessDefinition) steps().get(0)).getProcessor());
        assertEquals(List.of("a", "b"), first.names());

        assertEquals("done", send("none"));
        assertEquals(List.of("a", "b", "c+inserted", "d+inserted"), ran, "the step between the runs ran between them");
    }

    @Test
    void a_step_that_throws_ends_the_run_and_the_routes_error_handler_answers() throws Exception {
        start(route(FIVE_STEPS), true);
        assertEquals("error: refused at b", send("fails"));
        assertEquals(List.of("a", "b"), ran);
    }

    @Test
    void a_step_that_answers_ends_routing() throws Exception {
        start(route(FIVE_STEPS), true);
        assertEquals("answered at b", send("answers"));
        assertEquals(List.of("a", "b"), ran);
    }

    @Test
    void a_waiting_step_carries_on_from_its_callback() throws Exception {
        start(route("""
                - process: {ref: a}
                - process: {ref: w}
                - process: {ref: c}
                - setBody: {simple: "done"}
                """), true);
        CompletableFuture<Object> answer = context.createProducerTemplate().asyncRequestBody("direct:test", "");
        Runnable resume = waiting.get(10, TimeUnit.SECONDS);
        assertEquals(List.of("a", "w"), ran, "nothing after the waiting step runs before it is done");
        assertFalse(answer.isDone());
        new Thread(resume, "store-answer").start();
        assertEquals("done", answer.get(10, TimeUnit.SECONDS));
        assertEquals(List.of("a", "w", "c"), ran);
    }

    @Test
    void disabled_and_named_steps_stay_as_written() throws Exception {
        start(route("""
                - process: {ref: a}
                - process: {ref: b, disabled: "true"}
                - process: {ref: c}
                - process: {ref: d, id: step-d}
                - process: {ref: e}
                """), true);
        assertEquals(5, steps().size(), "no two plain steps next to each other");
        send("none");
        assertEquals(List.of("a", "c", "d", "e"), ran);
        assertEquals("step-d", steps().get(3).getId(), "the named step stays its own step");
    }

    @Test
    void nothing_is_fused_while_tracing_or_with_fusion_off() throws Exception {
        context.setTracing(true);
        start(route(FIVE_STEPS), true);
        assertEquals(6, steps().size());
        assertNull(((ProcessDefinition) steps().get(0)).getProcessor());
        assertEquals("done", send("none"));
        assertEquals(List.of("a", "b", "c+inserted", "d+inserted"), ran);
    }

    @Test
    void an_intercept_sees_every_step() throws Exception {
        start("""
                - routeConfiguration:
                    intercept:
                      - intercept:
                          steps:
                            - process: {ref: e}
                """ + route(FIVE_STEPS).replace("    routeConfigurationId: errors\n", ""), true);
        assertEquals(6, steps().size());
        send("none");
        assertEquals(List.of("e", "a", "e", "b", "e", "e+inserted", "c+inserted", "e+inserted", "d+inserted",
                "e+inserted"), ran, "before a, b, setHeader, c, d and setBody");
    }
}
