package org.camelopenaiproxy.inbound;

import io.vertx.ext.web.Router;

/**
 * Where {@link ProxyServer} hands WebSocket upgrades before the HTTP entry ({@code realtime}'s entry). An
 * interface so that {@code inbound} does not depend on the packages that come after it.
 */
public interface UpgradeEntry {

    /** Adds this entry's handlers to the listener's router, ahead of the HTTP entry. */
    void register(Router router) throws Exception;
}
