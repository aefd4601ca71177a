package org.camelopenaiproxy.pipeline;

import java.util.List;

import org.apache.camel.AsyncCallback;
import org.apache.camel.AsyncProcessor;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.processor.PipelineHelper;
import org.apache.camel.support.AsyncProcessorSupport;
import org.apache.camel.support.ExchangeHelper;
import org.apache.camel.support.service.ServiceHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consecutive {@code process} steps of a route file, run as one Camel step (see {@link StepFusion}):
 * the same beans in the file's order, with Camel's own rule between two steps
 * ({@link PipelineHelper#continueProcessing}: stop at an exception, a handled error, a rollback, or
 * an answer that ended routing). What a step throws becomes the exchange's exception, as Camel's
 * {@code DelegateSyncProcessor} does, so the route's error handler answers it. A step that waits
 * (an {@link AsyncProcessor} returning {@code false}) carries on from its callback, on the thread
 * that completes it, as Camel's pipeline does.
 */
public final class FusedSteps extends AsyncProcessorSupport {

    private static final Logger LOG = LoggerFactory.getLogger(FusedSteps.class);
    /** Only read when debug logging is on: a constant, so the hot path builds no string per step. */
    private static final String STOPPED = "so the rest of the fused steps does not run";

    private final List<String> names;
    private final Processor[] steps;

    public FusedSteps(List<String> names, List<Processor> steps) {
        this.names = List.copyOf(names);
        this.steps = steps.toArray(new Processor[0]);
    }

    /** The beans' names, in order. */
    public List<String> names() {
        return names;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        return run(exchange, 0, callback);
    }

    private boolean run(Exchange exchange, int from, AsyncCallback callback) {
        for (int i = from; i < steps.length; i++) {
            if (i > 0 && !PipelineHelper.continueProcessing(exchange, STOPPED, LOG)) { // also checks routeStop
                break;
            }
            ExchangeHelper.prepareOutToIn(exchange);
            Processor step = steps[i];
            if (step instanceof AsyncProcessor async) {
                int next = i + 1;
                boolean sync = async.process(exchange, doneSync -> {
                    if (!doneSync) {
                        run(exchange, next, callback);
                    }
                });
                if (!sync) {
                    return false; // the callback above goes on
                }
            } else {
                try {
                    step.process(exchange);
                } catch (Exception | LinkageError e) {
                    exchange.setException(e);
                }
            }
        }
        boolean sync = from == 0;
        callback.done(sync);
        return sync;
    }

    @Override
    protected void doStart() throws Exception {
        for (Processor step : steps) {
            ServiceHelper.startService(step); // as the route would start each step's bean
        }
        // and no doStop: the beans are the registry's singletons, shared by routes (proxy and realtime
        // use several of the same), and none of them holds anything that a stop would release
    }

    @Override
    public String toString() {
        return "FusedSteps" + names;
    }
}
