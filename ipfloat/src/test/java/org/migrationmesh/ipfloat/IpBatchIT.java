package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One long-lived {@code ip -batch} against a real namespace: answers, failures, a restart. */
class IpBatchIT {
    private static TestNetwork net;

    @BeforeAll
    static void network() {
        net = TestNetwork.create("a", "c");
    }

    @AfterAll
    static void cleanup() {
        net.close();
    }

    @Test
    void aFailedCommandIsItsOwnAndTheNextOneStillRuns() {
        FloatingAddress vip = net.floating(170);
        try (IpBatch batch = new IpBatch(net.ns("a"), Duration.ofSeconds(5))) {
            assertThat(batch.run("addr add " + vip.cidr() + " dev eth0", false, List.of("ip", "addr", "add"))).isEmpty();
            assertThat(net.holds("a", vip)).isTrue();
            assertThatThrownBy(() -> batch.run("addr add " + vip.cidr() + " dev eth0", false, List.of("ip", "addr", "add")))
                    .isInstanceOfSatisfying(FloatingIpException.CommandFailed.class, e -> {
                        assertThat(e.argv()).containsExactly("ip", "addr", "add");
                        assertThat(e.exitCode()).isEqualTo(1);
                        assertThat(e.stderrTail()).contains("already").doesNotContain(IpBatch.MARKER)
                                .doesNotContain("Command failed");
                    });
            String json = batch.run("addr show dev eth0", true, List.of("ip", "-j", "addr", "show"));
            assertThat(IpAddrJson.parse(json)).singleElement().satisfies(l -> assertThat(l.addresses().stream()
                    .anyMatch(a -> a.sameAddress(vip))).as(json).isTrue());
            assertThatThrownBy(() -> batch.run("neigh show dev eth9", true, List.of("ip", "-j", "neigh", "show")))
                    .isInstanceOfSatisfying(FloatingIpException.CommandFailed.class,
                            e -> assertThat(e.stderrTail()).contains("eth9"));
            assertThat(batch.run("addr del " + vip.cidr() + " dev eth0", false, List.of("ip", "addr", "del"))).isEmpty();
            assertThat(net.holds("a", vip)).isFalse();
        }
    }

    @Test
    void startsAgainAfterItsProcessDied() {
        try (IpBatch batch = new IpBatch(net.ns("a"), Duration.ofSeconds(5))) {
            batch.run("addr show", true, List.of("ip", "-j", "addr", "show"));
            List<ProcessHandle> ips = ProcessHandle.current().children()
                    .filter(p -> p.info().commandLine().orElse("").contains(net.ns("a") + " -j -force -batch")).toList();
            assertThat(ips).isNotEmpty();
            ips.forEach(ProcessHandle::destroyForcibly);
            ips.forEach(p -> p.onExit().join());
            assertThat(IpAddrJson.parse(batch.run("addr show", true, List.of("ip", "-j", "addr", "show"))))
                    .anyMatch(l -> l.name().equals("eth0"));
        }
    }

    @Test
    void aMissingNamespaceFailsWithIpsOwnWords() {
        // 20 times: ip may exit before the command is written to it (seen in CI), or after
        for (int i = 0; i < 20; i++) try (IpBatch batch = new IpBatch(net.prefix + "-missing", Duration.ofSeconds(5))) {
            assertThatThrownBy(() -> batch.run("addr show", true, List.of("ip", "-n", net.prefix + "-missing")))
                    .isInstanceOfSatisfying(FloatingIpException.CommandFailed.class, e -> {
                        assertThat(e.exitCode()).isPositive();
                        assertThat(e.stderrTail()).contains(net.prefix + "-missing");
                    });
        }
    }
}
