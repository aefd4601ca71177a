package org.camelopenaiproxy.wiring;

import io.vertx.core.Vertx;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.Processor;
import org.apache.camel.PropertyInject;
import org.camelopenaiproxy.inbound.BodyLimits;
import org.camelopenaiproxy.inbound.BufferBudget;
import org.camelopenaiproxy.inbound.RequestBodyReader;
import org.camelopenaiproxy.pipeline.auth.ClientKeyStore;
import org.camelopenaiproxy.pipeline.policy.AccessPolicy;
import org.camelopenaiproxy.pipeline.policy.RequestInspector;
import org.camelopenaiproxy.realtime.RealtimeInspector;
import org.camelopenaiproxy.relay.StreamUsageRequest;

/**
 * What a request may be: the body reader and its size limits, the inspector (model, stream, aliases),
 * the endpoint and model policies, and the request for streamed usage.
 */
public class PolicyConfiguration implements CamelConfiguration {

    @BindToRegistry
    public BufferBudget bufferBudget(@PropertyInject("proxy.limits.max-buffered-bytes") long maxBufferedBytes) {
        return new BufferBudget(maxBufferedBytes);
    }

    /** Uses the buffer budget of this class, so it is made on first use (by the routes). */
    @BindToRegistry(lazy = true)
    public RequestBodyReader requestBodyReader(@BeanInject("vertx") Vertx vertx,
            @BeanInject("bufferBudget") BufferBudget bufferBudget,
            @PropertyInject("proxy.max-request-bytes") long maxRequestBytes,
            @PropertyInject("proxy.limits.max-json-bytes") long maxJsonBytes,
            @PropertyInject("proxy.limits.max-audio-bytes") long maxAudioBytes,
            @PropertyInject("proxy.limits.max-file-bytes") long maxFileBytes,
            @PropertyInject("proxy.limits.max-upload-part-bytes") long maxUploadPartBytes,
            @PropertyInject("proxy.request-buffer-bytes") long requestBufferBytes,
            @PropertyInject("proxy.limits.read-timeout-ms") long readTimeoutMillis) {
        return new RequestBodyReader(vertx,
                new BodyLimits(maxRequestBytes, maxJsonBytes, maxAudioBytes, maxFileBytes, maxUploadPartBytes),
                requestBufferBytes, bufferBudget, readTimeoutMillis);
    }

    @BindToRegistry
    public RequestInspector requestInspector(@BeanInject("clientKeyStore") ClientKeyStore keyStore) {
        return new RequestInspector(keyStore::aliases);
    }

    /** Uses the inspector of this class, so it is made on first use (by the routes). */
    @BindToRegistry(lazy = true)
    public RealtimeInspector realtimeInspector(@BeanInject("requestInspector") RequestInspector requestInspector) {
        return new RealtimeInspector(requestInspector);
    }

    @BindToRegistry
    public Processor endpointPolicy() {
        return AccessPolicy::checkEndpoint;
    }

    @BindToRegistry
    public Processor modelPolicy() {
        return AccessPolicy::checkModel;
    }

    @BindToRegistry
    public StreamUsageRequest streamUsage(@PropertyInject("proxy.usage.request-stream-usage") boolean requestStreamUsage) {
        return new StreamUsageRequest(requestStreamUsage);
    }
}
