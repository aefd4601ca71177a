package org.camelopenaiproxy.upstream;

/**
 * The upstream call's time limits, in milliseconds: {@code connect} to open the connection,
 * {@code firstByte} from sending the request to the response head, {@code idle} between two body
 * chunks, {@code total} for a whole non-streamed exchange.
 */
public record Timeouts(long connect, long firstByte, long idle, long total) {
}
