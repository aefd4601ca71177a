package org.camelopenaiproxy.wiring;

import java.nio.file.Path;

import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.PropertyInject;
import org.camelopenaiproxy.config.ConfigWatcher;
import org.camelopenaiproxy.config.IpAllowList;
import org.camelopenaiproxy.config.WatchedFile;
import org.camelopenaiproxy.pipeline.auth.ApiKeyAuthenticator;
import org.camelopenaiproxy.pipeline.auth.ClientAddress;
import org.camelopenaiproxy.pipeline.auth.ClientKeyStore;
import org.camelopenaiproxy.pipeline.auth.KeyTable;
import org.camelopenaiproxy.pipeline.auth.KeysFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Who is calling: the client keys (from the watched keys file), the authenticator and the trusted proxies. */
public class AuthConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(AuthConfiguration.class);

    @BindToRegistry
    public ClientKeyStore clientKeyStore(@BeanInject("configWatcher") ConfigWatcher watcher,
                                         @PropertyInject("proxy.keys.file") String keysFile) throws Exception {
        WatchedFile<KeyTable> keys = watcher.watch(new WatchedFile<>(Path.of(keysFile), KeysFile::parse));
        ClientKeyStore keyStore = new ClientKeyStore(keys);
        if (keyStore.size() == 0) {
            LOG.warn("No client keys in {}: every request gets 401. Create one with: "
                     + "bin/camel-openai-proxy keys add --name <name>", keysFile);
        }
        return keyStore;
    }

    /** Uses the key store of this class, so it is made on first use (by the routes). */
    @BindToRegistry(lazy = true)
    public ApiKeyAuthenticator apiKeyAuthenticator(@BeanInject("clientKeyStore") ClientKeyStore keyStore,
                                                   @PropertyInject("proxy.trusted-proxies") String trustedProxies) {
        return new ApiKeyAuthenticator(keyStore, new ClientAddress(IpAllowList.parse(trustedProxies)));
    }
}
