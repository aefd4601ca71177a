package org.camelopenaiproxy.relay;

import org.apache.camel.builder.RouteConfigurationBuilder;
import org.camelopenaiproxy.errors.OpenAiError;

/**
 * Error handling for every pipeline route ({@code routeConfigurationId: errors}): whatever a step
 * throws becomes an OpenAI-shaped error answer. The status is decided in {@link OpenAiError#from}.
 */
public class ErrorRoutes extends RouteConfigurationBuilder {

    public static final String ID = "errors";

    @Override
    public void configuration() {
        routeConfiguration(ID)
                .onException(Exception.class)
                .handled(true)
                .logExhausted(false)
                .logStackTrace(false)
                .process("openAiErrorResponder");
    }
}
