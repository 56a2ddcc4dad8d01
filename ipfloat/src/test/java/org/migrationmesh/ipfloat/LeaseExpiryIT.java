package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * An owner cut off from the network (its veth's bridge end set down) keeps its floating IP
 * while heartbeats renew its lease and drops it by itself once the lease is over; only then
 * does another host take it, so no two hosts answer for it.
 */
class LeaseExpiryIT {
    private static final Duration LEASE = Duration.ofSeconds(1);

    @Test
    void partitionedOwnerReleasesItsAddressAfterItsLease() throws Exception {
        ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        Logger watchdogLog = (Logger) LoggerFactory.getLogger(LeaseWatchdog.class);
        logged.start();
        watchdogLog.addAppender(logged);
        try (TestNetwork net = TestNetwork.create("a", "b", "c")) {
            FloatingAddress vip = net.floating(100);
            Lease lease = new Lease(Clock.systemUTC(), LEASE);
            FloatingIps a = new FloatingIps(IpRoute2.inNamespace(net.ns("a")), "eth0", new EpochFence(), lease,
                    new AnnouncePolicy(1, Duration.ZERO), Clock.systemUTC(), scheduler);
            FloatingIps b = new FloatingIps(IpRoute2.inNamespace(net.ns("b")), "eth0", new EpochFence(), null,
                    new AnnouncePolicy(1, Duration.ZERO), Clock.systemUTC(), scheduler);
            assertThatThrownBy(() -> a.claim(vip, 1)).isInstanceOf(FloatingIpException.NoLease.class);

            try (PingHeartbeat toPeer = new PingHeartbeat(net, "a", net.address("c"));
                 LeaseWatchdog watchdog = new LeaseWatchdog(lease, a)) {
                watchdog.start(toPeer, scheduler, Duration.ofMillis(50));
                assertThat(waitFor(lease::isHeld, 5000)).as("lease after the first heartbeat").isTrue();
                assertThat(a.claim(vip, 1).outcome()).isEqualTo(Change.Outcome.ADDED);

                Thread.sleep(3 * LEASE.toMillis());
                assertThat(net.holds("a", vip)).as("held while heartbeats renew the lease").isTrue();

                long cut = System.nanoTime();
                net.setConnected("a", false);
                assertThat(waitFor(() -> !net.holds("a", vip), 5000)).as("released after the lease").isTrue();
                long releasedAfterMs = (System.nanoTime() - cut) / 1_000_000;
                System.out.printf("partitioned owner released its address %d ms after the cut (lease %d ms)%n",
                        releasedAfterMs, LEASE.toMillis());
                assertThat(releasedAfterMs).isBetween(LEASE.toMillis() - 200, LEASE.toMillis() + 1000);
                // The watchdog logs once the release has returned, a moment after the address is gone.
                assertThat(waitFor(() -> List.copyOf(logged.list).stream().anyMatch(e -> e.getLevel() == Level.WARN
                        && e.getFormattedMessage().contains("Lease expired")
                        && e.getFormattedMessage().contains(vip.toString())), 2000))
                        .as("the watchdog's warning, in %s", List.copyOf(logged.list)).isTrue();
                assertThatThrownBy(() -> a.claim(vip, 2)).isInstanceOf(FloatingIpException.NoLease.class);

                // The cluster hands the address to b once a's lease is over; the client reaches b.
                assertThat(b.claim(vip, 2).outcome()).isEqualTo(Change.Outcome.ADDED);
                net.exec("c", "ping", "-n", "-c", "1", "-W", "2", vip.host());
                assertThat(net.neighbourMac("c", vip.host())).isEqualTo(net.mac("b"));

                // a comes back: its lease returns, but it does not take the address back by itself.
                net.setConnected("a", true);
                assertThat(waitFor(lease::isHeld, 5000)).isTrue();
                assertThat(net.holds("a", vip)).isFalse();
                assertThat(net.holds("b", vip)).isTrue();
            }
        } finally {
            watchdogLog.detachAppender(logged);
            scheduler.shutdownNow();
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
