package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Claim/release rules, errors and reconciliation against real interfaces in a namespace. */
class FloatingIpRulesIT {
    private static TestNetwork net;
    private static final ScheduledExecutorService announcer = Executors.newScheduledThreadPool(1);

    @BeforeAll
    static void network() {
        net = TestNetwork.create("a", "c");
    }

    @AfterAll
    static void cleanup() {
        announcer.shutdownNow();
        net.close();
    }

    private static FloatingIps on(String iface) {
        return new FloatingIps(IpRoute2.inNamespace(net.ns("a")), iface, new EpochFence(), null,
                new AnnouncePolicy(1, Duration.ZERO), Clock.systemUTC(), announcer);
    }

    @Test
    void claimAndReleaseAreIdempotentAndFenced() {
        FloatingIps ips = on("eth0");
        FloatingAddress vip = net.floating(150);
        assertThat(ips.claim(vip, 5).outcome()).isEqualTo(Change.Outcome.ADDED);
        assertThat(ips.claim(vip, 5).outcome()).isEqualTo(Change.Outcome.ALREADY_PRESENT);
        assertThat(net.exec("a", "ip", "-o", "addr", "show", "dev", "eth0")).contains(vip.cidr() + " ")
                .contains("eth0:fl");
        assertThatThrownBy(() -> ips.release(vip, 4))
                .isInstanceOfSatisfying(FloatingIpException.StaleEpoch.class, e -> {
                    assertThat(e.expectedAtLeast()).isEqualTo(5);
                    assertThat(e.actual()).isEqualTo(4);
                });
        assertThat(net.holds("a", vip)).isTrue();
        assertThat(ips.release(vip, 6).outcome()).isEqualTo(Change.Outcome.REMOVED);
        assertThat(ips.release(vip, 6).outcome()).isEqualTo(Change.Outcome.ABSENT);
        assertThat(net.holds("a", vip)).isFalse();
    }

    @Test
    void refusesAMissingInterface() {
        assertThatThrownBy(() -> on("eth7").claim(net.floating(151), 1))
                .isInstanceOfSatisfying(FloatingIpException.NoSuchInterface.class,
                        e -> assertThat(e.namespace()).isEqualTo(net.ns("a")))
                .hasMessageContaining("eth7");
    }

    @Test
    void refusesToTakeOverOrRemoveHostAddresses() {
        FloatingAddress own = FloatingAddress.parse(net.address("a") + "/24");
        assertThatThrownBy(() -> on("eth0").claim(own, 1)).isInstanceOf(FloatingIpException.HostAddress.class);
        assertThatThrownBy(() -> on("eth0").release(own, 1)).isInstanceOf(FloatingIpException.HostAddress.class);
        net.exec("a", "ip", "addr", "add", "10.99.0.1/32", "dev", "lo");
        assertThatThrownBy(() -> on("eth0").claim(FloatingAddress.parse("10.99.0.1/32"), 1))
                .isInstanceOfSatisfying(FloatingIpException.HostAddress.class,
                        e -> assertThat(e.configuredOn()).isEqualTo("lo"));
        assertThat(net.holds("a", own)).isTrue();
    }

    @Test
    void refusesAddressesThatDoNotFitTheInterface() {
        assertThatThrownBy(() -> on("eth0").claim(FloatingAddress.parse("fd00:77::50/64"), 1))
                .isInstanceOf(FloatingIpException.AddressMismatch.class).hasMessageContaining("no global IPv6");
        assertThatThrownBy(() -> on("eth0").claim(FloatingAddress.parse("10.200.0.5/24"), 1))
                .isInstanceOf(FloatingIpException.AddressMismatch.class).hasMessageContaining("outside");
    }

    @Test
    void aFailedCommandCarriesArgvExitCodeAndStderr() {
        IpRoute2 missing = IpRoute2.inNamespace(net.prefix + "-missing");
        assertThatThrownBy(missing::links).isInstanceOfSatisfying(FloatingIpException.CommandFailed.class, e -> {
            assertThat(e.argv()).contains("-n", net.prefix + "-missing");
            assertThat(e.exitCode()).isPositive();
            assertThat(e.stderrTail()).isNotBlank();
        });
    }

    @Test
    void reconciliationMakesTheInterfaceMatchTheCluster() {
        FloatingAddress owned = net.floating(160);
        FloatingAddress leftover = net.floating(161);
        FloatingAddress unknown = net.floating(162);
        // Left by an earlier run of the agent, recognised by their label.
        net.exec("a", "ip", "addr", "add", leftover.cidr(), "dev", "eth0", "label", "eth0:fl");
        net.exec("a", "ip", "addr", "add", unknown.cidr(), "dev", "eth0", "label", "eth0:fl");
        Ownership cluster = new Ownership(Map.of(owned, 3L), Map.of(owned, 3L, leftover, 4L));
        Reconciler reconciler = new Reconciler(on("eth0"), () -> cluster);

        Reconciler.Report report = reconciler.reconcileOnce();
        assertThat(report.failures()).isEmpty();
        assertThat(report.plan()).hasSize(3);
        String actual = net.exec("a", "ip", "-o", "addr", "show", "dev", "eth0");
        assertThat(actual).contains(owned.cidr() + " ").contains(net.address("a") + "/24 ")
                .doesNotContain(leftover.cidr() + " ").doesNotContain(unknown.cidr() + " ");
        // A restarted agent sees the same state: nothing to do.
        assertThat(new Reconciler(on("eth0"), () -> cluster).reconcileOnce().plan()).isEmpty();
    }
}
