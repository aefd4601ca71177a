package org.camelopenaiproxy.inbound;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The proxy-wide budget of request-body bytes held in memory ({@code proxy.limits.max-buffered-bytes}):
 * every body the proxy buffers (all JSON bodies, up to {@code proxy.limits.max-json-bytes} each, and
 * small uploads) takes its size from it while its request runs, and gives it back when the request
 * ends. A body that does not fit is refused with 503 instead of growing the heap without bound
 * under many concurrent large bodies. 0 = no budget.
 */
public final class BufferBudget {

    private final long maxBytes;
    private final AtomicLong used = new AtomicLong();

    public BufferBudget(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** Takes {@code bytes} from the budget; {@code false} (nothing taken) if they do not fit. */
    public boolean take(long bytes) {
        if (maxBytes <= 0 || bytes <= 0) {
            return true;
        }
        long now;
        do {
            now = used.get();
            if (now + bytes > maxBytes) {
                return false;
            }
        } while (!used.compareAndSet(now, now + bytes));
        return true;
    }

    public void give(long bytes) {
        if (maxBytes > 0 && bytes > 0) {
            used.addAndGet(-bytes);
        }
    }

    /** Bytes currently taken. */
    public long used() {
        return used.get();
    }
}
