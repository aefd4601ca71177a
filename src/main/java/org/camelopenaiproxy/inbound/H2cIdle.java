package org.camelopenaiproxy.inbound;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * On an h2c port, Vert.x's idle handler guards a connection until Vert.x has made an HTTP
 * connection of it (see {@link ProxyServer}); from then on {@link ConnectionGuard}'s read deadline
 * rules, which knows about open streams, and this removes Vert.x's idle handler ({@value #IDLE} in
 * the pipeline). An upgrade ({@code Upgrade: h2c}) rebuilds the pipeline, idle handler included,
 * once the upgrade request's body has been received, after the connection was made: that one is
 * removed then.
 */
final class H2cIdle {

    /** Vert.x's name for its idle handler in a connection's pipeline (HttpServerWorker). */
    static final String IDLE = "idle";
    /** Vert.x's name for its upgrade handler, in the pipeline until the upgrade request's body has ended. */
    private static final String UPGRADE = "h2c";

    private H2cIdle() {
    }

    static void handOver(HttpConnection connection, HttpServerOptions options) {
        if (!options.isHttp2ClearTextEnabled() || options.getIdleTimeout() <= 0
                || !(connection instanceof ConnectionBase base)) {
            return;
        }
        ChannelPipeline pipeline = base.channel().pipeline();
        removeIdle(pipeline);
        if (pipeline.get(UPGRADE) != null) {
            pipeline.addBefore(UPGRADE, "h2cUpgradeEnd", new UpgradeEnd());
        }
    }

    private static void removeIdle(ChannelPipeline pipeline) {
        if (pipeline.get(IDLE) != null) {
            pipeline.remove(IDLE);
        }
    }

    /** Sees the upgrade request's last body part through, then removes the idle handler Vert.x has just put back. */
    private static final class UpgradeEnd extends ChannelInboundHandlerAdapter {

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean last = msg instanceof LastHttpContent;
            ChannelPipeline pipeline = ctx.pipeline();
            ctx.fireChannelRead(msg); // the upgrade handler rebuilds the pipeline (this handler removed)
            if (last) {
                removeIdle(pipeline);
            }
        }
    }
}
