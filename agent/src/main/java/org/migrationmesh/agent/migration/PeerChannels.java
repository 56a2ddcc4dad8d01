package org.migrationmesh.agent.migration;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import org.migrationmesh.rpc.RpcEndpoints;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One channel to each peer agent, kept from one migration to the next rather than made for each.
 * Its TCP connection keeps the congestion window the migrations before grew (on hosts that do not
 * start slow again after idle, net.ipv4.tcp_slow_start_after_idle=0, as the simulated world's are):
 * a connection made for one migration had a window of ~34 segments (~49 KB) after its pre-copy,
 * and a game server's final image of ~55-60 KB took a second flight, one round trip more inside the
 * downtime, on ~2/3 of the legs to Strasbourg. The handshakes leave the migration's time too.
 */
final class PeerChannels implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    /**
     * The channel to the agent at {@code address} (host:port), made on first use or after it was
     * shut down. One that failed to connect (the peer was down, or restarting) tries again now
     * rather than after its back-off, as a channel made for this migration would.
     */
    ManagedChannel to(String address) {
        ManagedChannel ch = channels.compute(address, (a, c) -> c == null || c.isShutdown() ? RpcEndpoints.channel(a) : c);
        if (ch.getState(false) == ConnectivityState.TRANSIENT_FAILURE) ch.resetConnectBackoff();
        return ch;
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
    }
}
