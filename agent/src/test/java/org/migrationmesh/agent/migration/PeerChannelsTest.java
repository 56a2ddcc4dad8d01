package org.migrationmesh.agent.migration;

import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PeerChannelsTest {
    @Test
    void oneChannelPerPeerIsKeptUntilItIsShutDownOrClosed() {
        PeerChannels peers = new PeerChannels();
        ManagedChannel a = peers.to("127.0.0.1:1");
        assertThat(peers.to("127.0.0.1:1")).as("the next migration to the same peer").isSameAs(a);
        ManagedChannel b = peers.to("127.0.0.1:2");
        assertThat(b).as("another peer").isNotSameAs(a);
        a.shutdownNow();
        ManagedChannel again = peers.to("127.0.0.1:1");
        assertThat(again).as("a channel shut down is made again").isNotSameAs(a);
        assertThat(again.isShutdown()).isFalse();
        peers.close();
        assertThat(again.isShutdown()).isTrue();
        assertThat(b.isShutdown()).isTrue();
    }
}
