package org.camelopenaiproxy.observe;

import java.util.List;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Step {@code requestEventLines} of the sink routes in {@code routes/audit.camel.yaml}: turns a batch
 * of {@link RequestEvent}s into one body of JSON lines (newline-separated, no trailing newline), so
 * a file or stdout sink writes a whole batch at once instead of one write per request.
 */
public class RequestEventLines implements Processor {

    @Override
    public void process(Exchange exchange) {
        Message message = exchange.getMessage();
        if (!(message.getBody() instanceof List<?> batch)) {
            return;
        }
        StringBuilder lines = new StringBuilder(batch.size() * 400);
        for (Object o : batch) {
            if (o instanceof RequestEvent event) {
                if (!lines.isEmpty()) {
                    lines.append('\n');
                }
                lines.append(event.json());
            }
        }
        message.setBody(lines.toString());
    }
}
