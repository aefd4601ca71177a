package org.camelopenaiproxy;

import java.util.Properties;

import org.apache.camel.main.Main;
import org.camelopenaiproxy.cli.KeysCommand;

/**
 * Starts the proxy ({@code bin/camel-openai-proxy} or {@code java -jar target/camel-openai-proxy.jar}, from the project root), or runs
 * a command ({@code keys add --name team-a}).
 */
public final class ProxyMain {

    /** Embedded defaults, then the operator's file, then environment variables (PROXY_PORT, ...). */
    public static final String DEFAULTS = "classpath:proxy-defaults.properties";

    private ProxyMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("keys")) {
            System.exit(KeysCommand.run(args, System.out, System.err));
        }
        try {
            newMain(null).run(args);
        } catch (Exception e) {
            // one line, not a stack trace: the port is taken, a route file is broken, ...
            System.err.println("camel-openai-proxy did not start: " + rootMessage(e));
            System.exit(1);
        }
    }

    /** The innermost cause's message, which names what went wrong (Camel wraps it once or twice). */
    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.toString();
    }

    /** The application as {@code main} runs it; tests pass property overrides. */
    public static Main newMain(Properties overrides) {
        Main main = new Main();
        String userConfig = System.getenv().getOrDefault("PROXY_CONFIG_FILE", "config/application.properties");
        main.setPropertyPlaceholderLocations(DEFAULTS + ",file:" + userConfig + ";optional=true");
        ProxyConfiguration.capabilities().forEach(main.configure()::addConfiguration); // instances: see capabilities()
        if (overrides != null) {
            main.setOverrideProperties(overrides);
        }
        return main;
    }
}
