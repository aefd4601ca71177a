package org.camelopenaiproxy.request;

/**
 * When a request reached each point of its life, in {@link System#nanoTime()} (0 until it did):
 * arrival, first upstream attempt, the answering upstream's response head, the relay's start, and
 * the first bytes of the answer to the client (for streams: the first token).
 */
public record Timings(long start, long firstAttempt, long upstreamHead, long relayStart, long firstByte) {

    static Timings startedAt(long start) {
        return new Timings(start, 0, 0, 0, 0);
    }

    Timings withFirstAttempt(long now) {
        return firstAttempt != 0 ? this : new Timings(start, now, upstreamHead, relayStart, firstByte);
    }

    Timings withUpstreamHead(long now) {
        return new Timings(start, firstAttempt, now, relayStart, firstByte);
    }

    Timings withRelayStart(long now) {
        return new Timings(start, firstAttempt, upstreamHead, now, firstByte);
    }

    Timings withFirstByte(long now) {
        return firstByte != 0 ? this : new Timings(start, firstAttempt, upstreamHead, relayStart, now);
    }
}
