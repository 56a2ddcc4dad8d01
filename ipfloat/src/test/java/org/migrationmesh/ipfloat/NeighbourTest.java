package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NeighbourTest {
    private static final FloatingAddress VIP = FloatingAddress.parse("10.9.0.200/24");

    @Test
    void takesOverWhatIsMissingInTheSubnetOnly() throws Exception {
        List<Neighbour> offered = List.of(n("10.9.0.7", "02:00:00:00:00:07"), n("10.9.1.7", "02:00:00:00:01:07"),
                n("10.9.0.8", "02:00:00:00:00:08"), n("10.9.0.200", "02:00:00:00:00:c8"), n("fd00::7", "02:00:00:00:00:17"));
        List<Neighbour> present = List.of(n("10.9.0.8", "02:00:00:00:ff:08"));
        assertThat(Neighbour.missing(offered, present, VIP))
                .as("another subnet, the floating address itself, another family and a known address left out")
                .containsExactly(n("10.9.0.7", "02:00:00:00:00:07"));
    }

    @Test
    void anAddressOfferedTwiceIsTakenOnce() throws Exception {
        List<Neighbour> offered = List.of(n("10.9.0.7", "02:00:00:00:00:07"), n("10.9.0.7", "02:00:00:00:00:70"));
        assertThat(Neighbour.missing(offered, List.of(), VIP)).containsExactly(n("10.9.0.7", "02:00:00:00:00:07"));
    }

    @Test
    void takesAtMostItsLimit() throws Exception {
        FloatingAddress wide = FloatingAddress.parse("10.9.0.1/16");
        List<Neighbour> offered = new ArrayList<>();
        for (int i = 0; i < Neighbour.MOST + 10; i++) {
            offered.add(n("10.9." + (i / 250) + "." + (i % 250 + 2), "02:00:00:00:00:07"));
        }
        assertThat(Neighbour.missing(offered, List.of(), wide)).hasSize(Neighbour.MOST);
    }

    @Test
    void refusesWhatIsNotALinkLayerAddress() throws Exception {
        assertThatThrownBy(() -> n("10.9.0.7", "02:00:00:00:00")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("10.9.0.7");
        assertThatThrownBy(() -> n("10.9.0.7", "02:00:00:00:00:07 dev lo")).isInstanceOf(IllegalArgumentException.class);
        assertThat(n("10.9.0.7", "02:AB:00:00:00:07").lladdr()).isEqualTo("02:ab:00:00:00:07");
    }

    @Test
    void readsUsableEntriesOfIpNeighShow() {
        // Printed by iproute2 6.1 (`ip -j neigh show dev eth0`) with entries in several states.
        String json = """
                [{"dst":"10.9.0.7","lladdr":"02:00:00:00:00:07","state":["REACHABLE"]},
                 {"dst":"10.9.0.8","lladdr":"02:00:00:00:00:08","state":["STALE"]},
                 {"dst":"10.9.0.9","state":["FAILED"]},
                 {"dst":"10.9.0.10","state":["INCOMPLETE"]},
                 {"dst":"10.9.0.11","lladdr":"02:00:00:00:00:0b","router":null,"state":["DELAY"]},
                 {"dst":"fe80::1","lladdr":"02:00:00:00:00:01","state":["PERMANENT"]}]
                """;
        assertThat(IpNeighJson.parse(json)).extracting(x -> x.address().getHostAddress())
                .containsExactly("10.9.0.7", "10.9.0.8", "10.9.0.11", "fe80:0:0:0:0:0:0:1");
        assertThat(IpNeighJson.parse("")).isEmpty();
    }

    private static Neighbour n(String ip, String mac) throws Exception {
        return new Neighbour(InetAddress.getByName(ip), mac);
    }
}
