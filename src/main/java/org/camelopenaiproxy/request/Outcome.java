package org.camelopenaiproxy.request;


/**
 * How a request ended: the way it ended, the status the client got (499 when it left first), the
 * upstream's usage when the answer carried one, and how many SSE data events were relayed.
 */
public record Outcome(Ending ending, int status, Usage usage, int events) {

    /** The four ways a request ends. */
    public enum Ending {
        /** The answer (any status, the proxy's own errors included) was written to its end. */
        COMPLETED,
        /** The answer broke after it began: the upstream failed mid-way (a stream gets an error event). */
        FAILED,
        /** The client closed its connection before its answer ended. */
        CLIENT_LEFT,
        /** The answer broke after it began because the upstream went quiet too long (504). */
        TIMED_OUT
    }

    /** The status logged for a client that left (nginx's 499). */
    public static final int CLIENT_CLOSED = 499;

    public static Outcome completed(int status) {
        return new Outcome(Ending.COMPLETED, status, null, 0);
    }

    public static Outcome completed(int status, Usage usage, int events) {
        return new Outcome(Ending.COMPLETED, status, usage, events);
    }

    public static Outcome clientLeft() {
        return new Outcome(Ending.CLIENT_LEFT, CLIENT_CLOSED, null, 0);
    }

    public boolean succeeded() {
        return status >= 200 && status < 300;
    }
}
