package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The claim/release rules, on in-memory interfaces (FloatingIpIT runs them on real ones). */
class FloatingIpsTest {
    private final MutableClock clock = new MutableClock();
    private final ScheduledExecutorService announcer = Executors.newScheduledThreadPool(1);
    private final InMemoryIpCommands net = new InMemoryIpCommands()
            .withLink("lo", "127.0.0.1/8")
            .withLink("eth0", "10.0.0.1/24", "fd00::1/64")
            .withLink("eth1", "10.5.0.1/24");
    private final Lease lease = new Lease(clock, Duration.ofSeconds(2));
    private final FloatingIps ips = new FloatingIps(net, "eth0", new EpochFence(), lease,
            new AnnouncePolicy(3, Duration.ZERO), clock, announcer);
    private final FloatingAddress vip = FloatingAddress.parse("10.0.0.50/24");

    FloatingIpsTest() {
        lease.confirm();
    }

    @AfterEach
    void stop() {
        announcer.shutdownNow();
    }

    @Test
    void claimAddsWithTheFloatingLabelAndAnnounces() throws Exception {
        Change c = ips.claim(vip, 1);
        assertThat(c.outcome()).isEqualTo(Change.Outcome.ADDED);
        assertThat(c.epoch()).isEqualTo(1);
        assertThat(c.announcementsPlanned()).isEqualTo(3);
        assertThat(c.announced().get(5, TimeUnit.SECONDS)).isEqualTo(3);
        assertThat(net.trace).containsExactly("add 10.0.0.50/24 eth0 label eth0:fl", "arping 10.0.0.50 eth0 x3");
        assertThat(ips.held()).containsExactly(vip);
    }

    @Test
    void claimIsIdempotent() {
        ips.claim(vip, 1);
        Change again = ips.claim(vip, 1);
        assertThat(again.outcome()).isEqualTo(Change.Outcome.ALREADY_PRESENT);
        assertThat(net.trace).filteredOn(s -> s.startsWith("add")).hasSize(1);
    }

    @Test
    void aLabelledAddressFromAnEarlierRunIsRecognisedAsFloating() {
        net.addAddress("eth0", vip, "eth0:fl", false);
        FloatingIps restarted = new FloatingIps(net, "eth0", new EpochFence(), null,
                new AnnouncePolicy(1, Duration.ZERO), clock, announcer);
        assertThat(restarted.held()).containsExactly(vip);
        assertThat(restarted.claim(vip, 3).outcome()).isEqualTo(Change.Outcome.ALREADY_PRESENT);
    }

    @Test
    void ipv6IsAddedDeprecatedAfterPreparingKernelAnnouncements() {
        FloatingAddress v6 = FloatingAddress.parse("fd00::50/64");
        Change c = ips.claim(v6, 1);
        assertThat(c.announcementsPlanned()).isEqualTo(1);
        assertThat(net.trace).containsExactly("prepare-ipv6 eth0", "add fd00:0:0:0:0:0:0:50/64 eth0 deprecated");
        assertThat(ips.held()).containsExactly(v6);
    }

    @Test
    void releaseRemovesAndIsIdempotent() {
        ips.claim(vip, 1);
        assertThat(ips.release(vip, 2).outcome()).isEqualTo(Change.Outcome.REMOVED);
        assertThat(ips.release(vip, 2).outcome()).isEqualTo(Change.Outcome.ABSENT);
        assertThat(ips.held()).isEmpty();
    }

    @Test
    void staleEpochsAreRefusedForClaimAndRelease() {
        ips.claim(vip, 5);
        assertThatThrownBy(() -> ips.release(vip, 4))
                .isInstanceOfSatisfying(FloatingIpException.StaleEpoch.class, e -> {
                    assertThat(e.expectedAtLeast()).isEqualTo(5);
                    assertThat(e.actual()).isEqualTo(4);
                });
        ips.release(vip, 6);
        assertThatThrownBy(() -> ips.claim(vip, 5)).isInstanceOf(FloatingIpException.StaleEpoch.class);
        assertThat(ips.held()).isEmpty();
    }

    @Test
    void aFailedClaimDoesNotRaiseTheFence() {
        FloatingAddress outside = FloatingAddress.parse("10.7.0.50/24");
        assertThatThrownBy(() -> ips.claim(outside, 9)).isInstanceOf(FloatingIpException.AddressMismatch.class);
        assertThat(ips.claim(FloatingAddress.parse("10.7.0.50/32"), 1).outcome()).isEqualTo(Change.Outcome.ADDED);
    }

    @Test
    void refusesTheHostsOwnAddresses() {
        assertThatThrownBy(() -> ips.claim(FloatingAddress.parse("10.0.0.1/24"), 1))
                .isInstanceOfSatisfying(FloatingIpException.HostAddress.class,
                        e -> assertThat(e.configuredOn()).isEqualTo("eth0"));
        assertThatThrownBy(() -> ips.claim(FloatingAddress.parse("10.5.0.1/32"), 1))
                .isInstanceOfSatisfying(FloatingIpException.HostAddress.class,
                        e -> assertThat(e.configuredOn()).isEqualTo("eth1"));
        assertThatThrownBy(() -> ips.release(FloatingAddress.parse("10.0.0.1/24"), 1))
                .isInstanceOf(FloatingIpException.HostAddress.class);
        assertThat(net.trace).isEmpty();
    }

    @Test
    void refusesAMissingInterface() {
        FloatingIps wrong = new FloatingIps(net, "eth9", new EpochFence(), null, AnnouncePolicy.standard(), clock,
                announcer);
        assertThatThrownBy(() -> wrong.claim(vip, 1))
                .isInstanceOfSatisfying(FloatingIpException.NoSuchInterface.class, e -> {
                    assertThat(e.iface()).isEqualTo("eth9");
                    assertThat(e.namespace()).isEqualTo("test-ns");
                });
    }

    @Test
    void refusesAddressesThatDoNotFitTheInterface() {
        assertThatThrownBy(() -> ips.claim(FloatingAddress.parse("10.7.0.50/24"), 1))
                .isInstanceOf(FloatingIpException.AddressMismatch.class)
                .hasMessageContaining("outside every IPv4 subnet");
        FloatingIps onEth1 = new FloatingIps(net, "eth1", new EpochFence(), null, AnnouncePolicy.standard(), clock,
                announcer);
        assertThatThrownBy(() -> onEth1.claim(FloatingAddress.parse("fd00::50/64"), 1))
                .isInstanceOf(FloatingIpException.AddressMismatch.class)
                .hasMessageContaining("no global IPv6 address");
        assertThat(ips.claim(FloatingAddress.parse("10.7.0.50/32"), 1).outcome()).isEqualTo(Change.Outcome.ADDED);
    }

    @Test
    void refusesClaimsWithoutALease() {
        clock.advance(Duration.ofSeconds(3));
        assertThatThrownBy(() -> ips.claim(vip, 1))
                .isInstanceOf(FloatingIpException.NoLease.class)
                .hasMessageContaining("expired");
    }

    @Test
    void releaseAllRemovesOnlyFloatingAddresses() throws Exception {
        ips.claim(vip, 1);
        ips.claim(FloatingAddress.parse("fd00::50/64"), 1);
        assertThat(ips.releaseAll()).extracting(Change::outcome)
                .containsExactly(Change.Outcome.REMOVED, Change.Outcome.REMOVED);
        assertThat(net.has("eth0", "10.0.0.1")).isTrue();
        assertThat(net.has("eth0", "fd00::1")).isTrue();
        assertThat(ips.held()).isEmpty();
    }

    @Test
    void releaseStopsPendingAnnouncements() throws Exception {
        FloatingIps repeating = new FloatingIps(net, "eth0", new EpochFence(), null,
                new AnnouncePolicy(1, Duration.ofHours(1)), clock, announcer);
        Change c = repeating.claim(vip, 1);
        repeating.release(vip, 1);
        Thread.sleep(50);
        assertThat(c.announced()).isNotCompleted();
        assertThat(net.trace.stream().filter(s -> s.startsWith("arping")).count()).isLessThanOrEqualTo(1);
    }
}
