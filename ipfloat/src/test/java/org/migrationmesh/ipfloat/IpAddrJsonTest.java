package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class IpAddrJsonTest {
    // Printed by iproute2 6.1 for a veth with a host, a labelled floating and a deprecated IPv6 address.
    private static final String SAMPLE = """
            [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"address":"00:00:00:00:00:00",
              "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo",
              "valid_life_time":4294967295,"preferred_life_time":4294967295}]},
             {"ifindex":2,"link_index":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
              "address":"B6:04:37:c0:e5:1b","addr_info":[
              {"family":"inet","local":"10.9.0.1","prefixlen":24,"scope":"global","label":"eth0",
               "valid_life_time":4294967295,"preferred_life_time":4294967295},
              {"family":"inet","local":"10.9.0.50","prefixlen":24,"scope":"global","secondary":true,
               "label":"eth0:fl","valid_life_time":4294967295,"preferred_life_time":4294967295},
              {"family":"inet6","local":"fd00::50","prefixlen":64,"scope":"global","deprecated":true,
               "valid_life_time":4294967295,"preferred_life_time":0},
              {"family":"inet6","local":"fe80::b404:37ff:fec0:e51b","prefixlen":64,"scope":"link",
               "valid_life_time":4294967295,"preferred_life_time":4294967295}]},
             {"ifindex":3,"ifname":"eth1","flags":["BROADCAST","MULTICAST"],"address":"02:00:00:00:00:02",
              "addr_info":[]}]
            """;

    @Test
    void readsLinksAndAddresses() {
        List<Link> links = IpAddrJson.parse(SAMPLE);
        assertThat(links).extracting(Link::name).containsExactly("lo", "eth0", "eth1");
        Link eth0 = links.get(1);
        assertThat(eth0.mac()).isEqualTo("b6:04:37:c0:e5:1b");
        assertThat(eth0.up()).isTrue();
        assertThat(links.get(2).up()).isFalse();
        assertThat(eth0.addresses()).hasSize(4);
        Link.Configured floating = eth0.addresses().get(1);
        assertThat(floating.label()).isEqualTo("eth0:fl");
        assertThat(floating.prefixLength()).isEqualTo(24);
        assertThat(eth0.addresses().get(2).deprecated()).isTrue();
        assertThat(eth0.addresses().get(0).deprecated()).isFalse();
        assertThat(eth0.addresses().get(3).scope()).isEqualTo("link");
    }

    @Test
    void emptyOutputIsNoLinks() {
        assertThat(IpAddrJson.parse("")).isEmpty();
    }
}
