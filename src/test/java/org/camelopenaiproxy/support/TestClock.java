package org.camelopenaiproxy.support;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import com.github.benmanes.caffeine.cache.Ticker;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.camelopenaiproxy.wiring.RuntimeConfiguration;

/**
 * A clock the test moves: the proxy's stores read time from it instead of the system's, so a time
 * to live is crossed by {@link #advance}, not by sleeping. Bound by listing {@link Bound} before
 * {@link org.camelopenaiproxy.ProxyConfiguration} in {@code configurationClasses}; inject it with
 * {@code @BeanInject(RuntimeConfiguration.TICKER)}.
 */
public final class TestClock implements Ticker {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

    @Override
    public long read() {
        return nanos.get();
    }

    public void advance(Duration by) {
        nanos.addAndGet(by.toNanos());
    }

    /** Binds a {@link TestClock} as the proxy's clock. */
    public static final class Bound implements CamelConfiguration {
        @Override
        public void configure(CamelContext context) {
            context.getRegistry().bind(RuntimeConfiguration.TICKER, new TestClock());
        }
    }
}
