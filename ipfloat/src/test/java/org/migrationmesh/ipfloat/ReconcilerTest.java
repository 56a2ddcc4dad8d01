package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReconcilerTest {
    private final MutableClock clock = new MutableClock();
    private final ScheduledExecutorService announcer = Executors.newScheduledThreadPool(1);
    private final InMemoryIpCommands net = new InMemoryIpCommands().withLink("eth0", "10.0.0.1/24");
    private final FloatingIps ips = new FloatingIps(net, "eth0", new EpochFence(), null,
            new AnnouncePolicy(1, Duration.ZERO), clock, announcer);
    private final FloatingAddress a = FloatingAddress.parse("10.0.0.50/24");
    private final FloatingAddress b = FloatingAddress.parse("10.0.0.51/24");
    private final FloatingAddress host = FloatingAddress.parse("10.0.0.1/24");
    private final AtomicReference<Ownership> cluster = new AtomicReference<>();
    private final Reconciler reconciler = new Reconciler(ips, cluster::get);

    @AfterEach
    void stop() {
        announcer.shutdownNow();
    }

    @Test
    void bringsTheInterfaceToWhatTheClusterSays() {
        net.addAddress("eth0", b, "eth0:fl", false); // left over from an earlier run
        cluster.set(new Ownership(Map.of(a, 3L), Map.of(a, 3L, b, 4L)));
        Reconciler.Report report = reconciler.reconcileOnce();
        assertThat(report.failures()).isEmpty();
        assertThat(report.changes()).extracting(Change::outcome)
                .containsExactly(Change.Outcome.REMOVED, Change.Outcome.ADDED);
        assertThat(ips.held()).containsExactly(a);
        assertThat(reconciler.reconcileOnce().plan()).isEmpty();
    }

    @Test
    void aFailingActionDoesNotStopTheOthers() {
        cluster.set(new Ownership(Map.of(host, 1L, a, 1L), Map.of(host, 1L, a, 1L)));
        Reconciler.Report report = reconciler.reconcileOnce();
        assertThat(report.failures()).singleElement().isInstanceOf(FloatingIpException.HostAddress.class);
        assertThat(ips.held()).containsExactly(a);
    }
}
