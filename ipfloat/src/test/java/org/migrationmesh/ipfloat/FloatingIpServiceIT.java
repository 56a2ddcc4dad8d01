package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The service as an agent runs it, in a real namespace: it takes what the cluster says it owns
 * once it has a lease, gives up what moved elsewhere, and leaves nothing behind when closed.
 */
class FloatingIpServiceIT {

    @Test
    void followsTheClustersViewAndReleasesOnShutdown() throws Exception {
        try (TestNetwork net = TestNetwork.create("a", "c");
             PingHeartbeat heartbeat = new PingHeartbeat(net, "a", net.address("c"))) {
            FloatingAddress vip = net.floating(120);
            FloatingAddress other = net.floating(121);
            AtomicReference<Ownership> cluster = new AtomicReference<>(
                    new Ownership(Map.of(vip, 1L, other, 1L), Map.of(vip, 1L, other, 1L)));
            FloatingIpService.Config config = new FloatingIpService.Config("eth0", net.ns("a"), Duration.ofSeconds(1),
                    Duration.ofMillis(50), Duration.ofMillis(200), new AnnouncePolicy(1, Duration.ZERO));
            FloatingIpService service = FloatingIpService.start(config, cluster::get, heartbeat, Clock.systemUTC());
            try {
                assertThat(waitFor(() -> net.holds("a", vip) && net.holds("a", other), 5000))
                        .as("owned addresses claimed by reconciliation").isTrue();

                cluster.set(new Ownership(Map.of(other, 1L), Map.of(vip, 2L, other, 1L)));
                assertThat(waitFor(() -> !net.holds("a", vip), 3000)).as("moved address released").isTrue();
                assertThat(net.holds("a", other)).isTrue();
            } finally {
                assertThat(service.shutdown()).extracting(Change::address).containsExactly(other);
            }
            assertThat(net.holds("a", other)).isFalse();
            assertThat(net.holds("a", FloatingAddress.parse(net.address("a") + "/24"))).isTrue();
        }
    }

    private static boolean waitFor(BooleanSupplier condition, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
