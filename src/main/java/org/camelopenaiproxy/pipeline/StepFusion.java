package org.camelopenaiproxy.pipeline;

import java.util.ArrayList;
import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.model.InterceptDefinition;
import org.apache.camel.model.Model;
import org.apache.camel.model.ModelLifecycleStrategySupport;
import org.apache.camel.model.ProcessDefinition;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.RouteConfigurationDefinition;
import org.apache.camel.model.RouteDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each run of consecutive plain {@code process} steps of a route as one Camel step
 * ({@link FusedSteps}), as the routes are added: at start and at every reload. The route files stay
 * as they are, one step per line, and so does what each step does; a request only skips Camel's
 * envelope around every step (its error-handler channel and a hop through the reactive executor,
 * about 0.35 µs each: bench/README.md, "Fourth pass" and "Sixth pass").
 * <p>
 * A step is plain when it names a bean ({@code ref}) and sets nothing else: a step with its own
 * {@code id}, {@code description} or {@code disabled} stays a Camel step of its own, and so does
 * every other kind of step ({@code to}, {@code filter}, {@code log}, ...), so an operator's edit
 * between two steps splits the run there. Nothing is fused while something wants to see every step:
 * tracing, backlog tracing, debugging, message history, or an {@code intercept} (in the route or in
 * any route configuration). A bean that is not in the registry is left to Camel, which refuses the
 * route with its usual message. {@code proxy.routes.fuse-steps=false} turns this off.
 */
public final class StepFusion extends ModelLifecycleStrategySupport {

    private static final Logger LOG = LoggerFactory.getLogger(StepFusion.class);

    private final CamelContext context;

    private StepFusion(CamelContext context) {
        this.context = context;
    }

    /** Fuses the steps of every route added to {@code context} from now on. */
    public static void install(CamelContext context) {
        context.getCamelContextExtension().getContextPlugin(Model.class)
                .addModelLifecycleStrategy(new StepFusion(context));
    }

    @Override
    public void onAddRouteDefinition(RouteDefinition route) {
        if (stepsWatched(route)) {
            return;
        }
        List<ProcessorDefinition<?>> outputs = route.getOutputs();
        List<ProcessorDefinition<?>> fused = new ArrayList<>(outputs.size());
        List<ProcessDefinition> run = new ArrayList<>();
        List<Processor> beans = new ArrayList<>();
        for (ProcessorDefinition<?> step : outputs) {
            Processor bean = plainBean(step);
            if (bean != null) {
                run.add((ProcessDefinition) step);
                beans.add(bean);
                continue;
            }
            flush(fused, run, beans);
            fused.add(step);
        }
        flush(fused, run, beans);
        if (fused.size() != outputs.size()) {
            LOG.debug("Route {}: {} steps run as {} Camel steps", route.getRouteId(), outputs.size(), fused.size());
            outputs.clear();
            outputs.addAll(fused);
        }
    }

    /** Adds the pending run of plain steps to {@code fused}: one step as it was, two or more as one. */
    private static void flush(List<ProcessorDefinition<?>> fused, List<ProcessDefinition> run, List<Processor> beans) {
        if (run.size() == 1) {
            fused.add(run.get(0));
        } else if (run.size() > 1) {
            List<String> names = run.stream().map(ProcessDefinition::getRef).toList();
            ProcessDefinition step = new ProcessDefinition(new FusedSteps(names, beans));
            step.setDescription("steps " + String.join(", ", names));
            fused.add(step);
        }
        run.clear();
        beans.clear();
    }

    /** The bean of a plain {@code process} step, or {@code null}. */
    private Processor plainBean(ProcessorDefinition<?> step) {
        if (!(step instanceof ProcessDefinition process) || process.getRef() == null || process.getProcessor() != null
                || process.hasCustomIdAssigned() || process.getDescription() != null || process.getDisabled() != null) {
            return null;
        }
        Object bean = context.getRegistry().lookupByName(process.getRef());
        return bean instanceof Processor processor ? processor : null;
    }

    private boolean stepsWatched(RouteDefinition route) {
        if (Boolean.TRUE.equals(context.isTracing()) || Boolean.TRUE.equals(context.isBacklogTracing())
                || Boolean.TRUE.equals(context.isDebugging()) || Boolean.TRUE.equals(context.isMessageHistory())
                || context.isTracingStandby() || context.isBacklogTracingStandby() || context.isDebugStandby()) {
            return true;
        }
        if (route.getOutputs().stream().anyMatch(InterceptDefinition.class::isInstance)) {
            return true;
        }
        for (RouteConfigurationDefinition configuration
                : context.getCamelContextExtension().getContextPlugin(Model.class).getRouteConfigurationDefinitions()) {
            if (!configuration.getIntercepts().isEmpty()) {
                return true;
            }
        }
        return false;
    }
}
