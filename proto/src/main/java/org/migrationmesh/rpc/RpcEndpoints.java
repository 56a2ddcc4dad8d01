package org.migrationmesh.rpc;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

import java.io.IOException;
import java.net.InetSocketAddress;
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

    private RpcEndpoints() {}

    /** A plaintext channel to {@code host:port}. */
    public static ManagedChannel channel(String hostPort) {
        HostPort hp = HostPort.parse(hostPort);
        return NettyChannelBuilder.forAddress(hp.host(), hp.port())
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
                .permitKeepAliveTime(10, TimeUnit.SECONDS);
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
