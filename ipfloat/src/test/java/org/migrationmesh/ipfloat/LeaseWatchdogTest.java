package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LeaseWatchdogTest {
    private final MutableClock clock = new MutableClock();
    private final ScheduledExecutorService announcer = Executors.newScheduledThreadPool(1);
    private final InMemoryIpCommands net = new InMemoryIpCommands().withLink("eth0", "10.0.0.1/24");
    private final Lease lease = new Lease(clock, Duration.ofMillis(300));
    private final FloatingIps ips = new FloatingIps(net, "eth0", new EpochFence(), lease,
            new AnnouncePolicy(1, Duration.ZERO), clock, announcer);
    private final LeaseWatchdog watchdog = new LeaseWatchdog(lease, ips);
    private final FloatingAddress vip = FloatingAddress.parse("10.0.0.50/24");

    @AfterEach
    void stop() {
        announcer.shutdownNow();
    }

    @Test
    void keepsAddressesWhileTheLeaseIsHeld() {
        lease.confirm();
        ips.claim(vip, 1);
        clock.advance(Duration.ofMillis(299));
        assertThat(watchdog.check()).isEmpty();
        assertThat(ips.held()).containsExactly(vip);
    }

    @Test
    void releasesEverythingOnceWhenTheLeaseExpires() {
        lease.confirm();
        ips.claim(vip, 1);
        clock.advance(Duration.ofMillis(300));
        assertThat(watchdog.check()).extracting(Change::outcome).containsExactly(Change.Outcome.REMOVED);
        assertThat(ips.held()).isEmpty();
        assertThat(watchdog.check()).isEmpty();
    }

    @Test
    void armsAgainAfterContactComesBack() {
        lease.confirm();
        ips.claim(vip, 1);
        clock.advance(Duration.ofSeconds(1));
        watchdog.check();
        lease.confirm();
        assertThat(watchdog.check()).isEmpty();
        ips.claim(vip, 2);
        clock.advance(Duration.ofSeconds(1));
        assertThat(watchdog.check()).hasSize(1);
    }

    @Test
    void doesNothingBeforeTheFirstContact() {
        assertThat(watchdog.check()).isEmpty();
        assertThat(net.trace).isEmpty();
    }
}
