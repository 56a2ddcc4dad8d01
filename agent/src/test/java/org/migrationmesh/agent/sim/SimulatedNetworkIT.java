package org.migrationmesh.agent.sim;

import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.runtime.CommandRunner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Regions far away, for real: the user-space relay adds latency that ping sees. */
class SimulatedNetworkIT {
    private static final Pattern RTT = Pattern.compile("rtt min/avg/max/mdev = ([\\d.]+)/([\\d.]+)/");

    @Test
    void roundTripGrowsWithTheRegionsDelays() throws Exception {
        try (SimulatedNetwork net = SimulatedNetwork.create("wn")) {
            SimulatedNetwork.Region near = net.addRegion("near", 1, 0);
            SimulatedNetwork.Region far = net.addRegion("far", 40, 50);
            SimulatedNetwork.Host local = net.addHost("local");
            SimulatedNetwork.Host b = net.addHost("b", near);
            SimulatedNetwork.Host c = net.addHost("c", far);
            assertThat(net.region("far")).isEqualTo(far);

            double toNear = minRtt(net, local, b.address());
            double toFar = minRtt(net, local, c.address());
            double nearToFar = minRtt(net, b, c.address());
            assertThat(toNear).as("1 ms each way").isGreaterThanOrEqualTo(2.0);
            assertThat(toFar).as("40 ms each way").isGreaterThanOrEqualTo(80.0);
            assertThat(nearToFar).as("both regions' delays add up").isGreaterThanOrEqualTo(82.0);
            assertThat(toFar).isGreaterThan(toNear);

            // A floating address announced in the far region is reached there, through the relays.
            String ip = net.newFloatingAddress();
            net.addAddress(c, ip);
            net.announce(c, ip).waitFor();
            assertThat(minRtt(net, local, ip)).isGreaterThanOrEqualTo(80.0);
        }
    }

    @Test
    void eachHostHasSocketTablesOfItsOwnAndTheRootKeepsItsSettings() throws Exception {
        Path tcpChild = Path.of("/proc/sys/net/ipv4/tcp_child_ehash_entries");
        Path udpChild = Path.of("/proc/sys/net/ipv4/udp_child_hash_entries");
        assumeTrue(Files.exists(tcpChild), "a kernel before 6.1 has no TCP hash tables per namespace");
        String tcpBefore = Files.readString(tcpChild).strip();
        String udpBefore = Files.exists(udpChild) ? Files.readString(udpChild).strip() : null;
        try (SimulatedNetwork net = SimulatedNetwork.create("wt")) {
            SimulatedNetwork.Host h = net.addHost("h");
            // negative: the namespace shares the machine's table
            assertThat(net.exec(h, Duration.ofSeconds(10), "cat", "/proc/sys/net/ipv4/tcp_ehash_entries").stdout().strip())
                    .isEqualTo(SimulatedNetwork.HOST_SOCKET_TABLES.get("tcp_child_ehash_entries"));
            if (udpBefore != null) {
                assertThat(net.exec(h, Duration.ofSeconds(10), "cat", "/proc/sys/net/ipv4/udp_hash_entries").stdout().strip())
                        .isEqualTo(SimulatedNetwork.HOST_SOCKET_TABLES.get("udp_child_hash_entries"));
            }
        }
        assertThat(Files.readString(tcpChild).strip()).as("the root namespace's setting, put back").isEqualTo(tcpBefore);
        if (udpBefore != null) assertThat(Files.readString(udpChild).strip()).isEqualTo(udpBefore);
    }

    private static double minRtt(SimulatedNetwork net, SimulatedNetwork.Host from, String to) throws Exception {
        CommandRunner.Execution ex = net.exec(from, Duration.ofSeconds(20), "ping", "-c", "4", "-i", "0.2", "-W", "2", to);
        Matcher m = RTT.matcher(ex.stdout());
        assertThat(m.find()).as("ping %s from %s: %s %s", to, from.name(), ex.stdout(), ex.stderr()).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
