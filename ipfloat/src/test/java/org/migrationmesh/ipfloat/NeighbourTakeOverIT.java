package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A host taking a floating address over takes the old holder's neighbour entries with it, in
 * real namespaces: the client here answers no ARP at all (its interface has ARP off), so the
 * new holder reaches it only through an entry it was given, and the test shows both sides of
 * that. An entry the new holder has already is left as it is.
 */
class NeighbourTakeOverIT {

    @Test
    void theNewHolderReachesTheOldHoldersClientsWithoutAskingForThem() throws Exception {
        try (TestNetwork net = TestNetwork.create("a", "b", "c")) {
            FloatingAddress vip = net.floating(120);
            String client = net.address("c");
            net.exec("a", "ping", "-c", "1", "-W", "2", client); // a knows its client, as a holder that served it does
            String other = net.subnet + ".77"; // known to both, differently: b's own entry stays
            TestNetwork.run("ip", "-n", net.ns("a"), "neigh", "replace", other, "lladdr", "02:00:00:00:00:77", "dev", "eth0");
            TestNetwork.run("ip", "-n", net.ns("b"), "neigh", "replace", other, "lladdr", "02:00:00:00:77:77", "dev", "eth0");
            TestNetwork.run("ip", "-n", net.ns("a"), "neigh", "replace", "192.0.2.9", "lladdr", "02:00:00:00:00:09", "dev", "eth0");
            TestNetwork.run("ip", "-n", net.ns("c"), "link", "set", "eth0", "arp", "off");

            int before = echoesReceived(net, "c"); // a's
            pingOnce(net, "b", client);
            assertThat(echoesReceived(net, "c") - before).as("without the entry, b cannot resolve the client").isZero();
            // b is still asking; its unresolved entry holds the echo request, which must not count below
            TestNetwork.run("ip", "-n", net.ns("b"), "neigh", "flush", "dev", "eth0", "to", client);

            try (FloatingIpService a = service(net, "a"); FloatingIpService b = service(net, "b")) {
                List<Neighbour> offered = a.neighbours(vip);
                assertThat(offered).extracting(x -> x.address().getHostAddress()).contains(client, other)
                        .doesNotContain("192.0.2.9");
                List<Neighbour> learned = b.learnNeighbours(vip, offered);
                assertThat(learned).extracting(x -> x.address().getHostAddress()).contains(client).doesNotContain(other);
            }
            assertThat(net.neighbourMac("b", client)).isEqualTo(net.mac("c"));
            assertThat(net.neighbourMac("b", other)).isEqualTo("02:00:00:00:77:77");
            pingOnce(net, "b", client);
            assertThat(echoesReceived(net, "c") - before).as("with the entry, b's first packet reaches the client").isEqualTo(1);
        }
    }

    @Test
    void aSubnetFullOfClientsGoesInOneBatchUpToTheLimit() throws Exception {
        try (TestNetwork net = TestNetwork.create("a", "b")) {
            String sixteen = net.subnet.substring(0, net.subnet.lastIndexOf('.')); // 10.77 of 10.77.N
            FloatingAddress wide = FloatingAddress.parse(sixteen + ".0.200/16");
            List<Neighbour> offered = new java.util.ArrayList<>();
            for (int i = 0; i < Neighbour.MOST + 100; i++) {
                offered.add(new Neighbour(java.net.InetAddress.getByName(sixteen + "." + (10 + i / 250) + "." + (1 + i % 250)),
                        String.format("02:00:00:00:%02x:%02x", i / 256, i % 256)));
            }
            try (FloatingIpService b = service(net, "b")) {
                assertThat(b.learnNeighbours(wide, offered)).hasSize(Neighbour.MOST);
            }
            String table = TestNetwork.run("ip", "-n", net.ns("b"), "neigh", "show", "dev", "eth0");
            assertThat(table.lines().filter(l -> l.contains("STALE"))).hasSize(Neighbour.MOST);
            assertThat(net.neighbourMac("b", sixteen + ".10.1")).isEqualTo("02:00:00:00:00:00");
        }
    }

    private static FloatingIpService service(TestNetwork net, String host) {
        FloatingIpService.Config config = new FloatingIpService.Config("eth0", net.ns(host), Duration.ofSeconds(1),
                Duration.ofMillis(50), Duration.ofSeconds(60), new AnnouncePolicy(1, Duration.ZERO));
        return FloatingIpService.start(config, () -> new Ownership(Map.of(), Map.of()), onConfirmed -> () -> { },
                Clock.systemUTC());
    }

    /** One echo request; the client cannot answer (it resolves nobody), so only its counters tell. */
    private static void pingOnce(TestNetwork net, String from, String to) {
        try {
            net.exec(from, "ping", "-c", "1", "-W", "1", to);
        } catch (FloatingIpException.CommandFailed expected) {
            // no reply: expected either way
        }
    }

    /** Echo requests the host's kernel received (its namespace's /proc/net/snmp). */
    private static int echoesReceived(TestNetwork net, String host) {
        String[] lines = net.exec(host, "cat", "/proc/net/snmp").split("\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            if (!lines[i].startsWith("Icmp:") || !lines[i + 1].startsWith("Icmp:")) continue;
            List<String> names = List.of(lines[i].trim().split("\\s+"));
            return Integer.parseInt(lines[i + 1].trim().split("\\s+")[names.indexOf("InEchos")]);
        }
        throw new IllegalStateException("no Icmp counters in /proc/net/snmp of " + host);
    }
}
