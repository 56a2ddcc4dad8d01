package org.migrationmesh.rpc;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.RawUnixChannelOption;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The one place that builds gRPC channels and servers between agents and agentctl.
 *
 * <p>Every connection in the project goes through here, so transport settings (flow-control
 * window for high bandwidth-delay links, message size, keepalive, and mutual TLS when it
 * comes) are decided once.
 */
public final class RpcEndpoints {
    /** Per-stream flow-control window: large enough for an intercontinental link. */
    public static final int FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;
    /** Largest message: a 1 MiB image chunk plus its header, with headroom. */
    public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

    /**
     * setsockopt(IPPROTO_TCP, TCP_CONGESTION): the congestion control of every connection built
     * here, client and server side. The hosts here default to BBR, which paces what it sends at
     * its estimate of the path's rate, and after a migration's small pre-copy rounds that
     * estimate is low (7 Mbit/s on a 100 Mbit/s path, seen with {@code ss}): the final image,
     * ~60 KB sent at once inside the freeze, then took 35-100 ms more than the round trip to
     * Montreal. CUBIC sends what its window allows at once: the final image's round trip to
     * Montreal went from 133-194 to 117-134 ms in the same tours. A server sets it on its
     * listening socket, whose accepted connections inherit it; a client channel on each new
     * socket (Netty consumes an option's buffer, so one buffer cannot serve every connection).
     * Without epoll, or where the algorithm is not allowed, the system's default stays.
     */
    static final RawUnixChannelOption TCP_CONGESTION = new RawUnixChannelOption("TCP_CONGESTION", 6, 13, 6);
    /** The algorithm {@link #TCP_CONGESTION} names. */
    static final String CONGESTION_CONTROL = "cubic";

    /** {@link #CONGESTION_CONTROL} as setsockopt takes it, NUL-terminated, in a new buffer (Netty consumes the one it is given). */
    private static ByteBuffer congestionControl() {
        byte[] name = (CONGESTION_CONTROL + "\0").getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocateDirect(name.length).put(name).flip();
    }

    /** Event loops of the client channels that set {@link #TCP_CONGESTION} on their sockets (epoll only); made once. */
    private static EventLoopGroup clientLoops;

    private static synchronized EventLoopGroup clientLoops() {
        if (clientLoops == null) clientLoops = new EpollEventLoopGroup(0, new DefaultThreadFactory("rpc-client", true));
        return clientLoops;
    }

    /** A client socket with {@link #TCP_CONGESTION} set. */
    private static EpollSocketChannel congestionControlledSocket() {
        EpollSocketChannel ch = new EpollSocketChannel();
        ch.config().setOption(TCP_CONGESTION, congestionControl());
        return ch;
    }

    private RpcEndpoints() {}

    /** A plaintext channel to {@code host:port}. */
    public static ManagedChannel channel(String hostPort) {
        HostPort hp = HostPort.parse(hostPort);
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(hp.host(), hp.port());
        if (Epoll.isAvailable()) builder.eventLoopGroup(clientLoops()).channelFactory(RpcEndpoints::congestionControlledSocket);
        return builder
                .usePlaintext()
                .flowControlWindow(FLOW_CONTROL_WINDOW)
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(false)
                .build();
    }

    /** Starts a server on {@code bindAddress:port} (port 0 picks a free one) with the given services. */
    public static Server startServer(String bindAddress, int port, List<BindableService> services,
                                     ServerInterceptor... interceptors) throws IOException {
        Objects.requireNonNull(bindAddress, "bindAddress");
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(bindAddress, port))
                .flowControlWindow(FLOW_CONTROL_WINDOW)
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .withOption(TCP_CONGESTION, congestionControl());
        services.forEach(builder::addService);
        for (ServerInterceptor i : interceptors) {
            builder.intercept(i);
        }
        return builder.build().start();
    }

    /** {@code host:port}, with IPv6 hosts in brackets. */
    public record HostPort(String host, int port) {
        public HostPort {
            if (host == null || host.isBlank()) throw new IllegalArgumentException("empty host in address");
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        }

        public static HostPort parse(String s) {
            Objects.requireNonNull(s, "address");
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || colon == s.length() - 1) {
                throw new IllegalArgumentException("address '" + s + "' is not HOST:PORT");
            }
            String host = s.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
            int port;
            try {
                port = Integer.parseInt(s.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("address '" + s + "' has no numeric port", e);
            }
            return new HostPort(host, port);
        }

        @Override
        public String toString() {
            return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
        }
    }
}
