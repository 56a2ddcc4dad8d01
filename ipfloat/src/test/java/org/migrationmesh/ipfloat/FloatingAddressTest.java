package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FloatingAddressTest {

    @Test
    void parsesIpv4WithAndWithoutPrefix() {
        FloatingAddress a = FloatingAddress.parse("10.1.2.3/24");
        assertThat(a.isIpv4()).isTrue();
        assertThat(a.cidr()).isEqualTo("10.1.2.3/24");
        assertThat(FloatingAddress.parse("10.1.2.3").prefixLength()).isEqualTo(32);
    }

    @Test
    void parsesIpv6() {
        FloatingAddress a = FloatingAddress.parse("fd00::50/64");
        assertThat(a.isIpv4()).isFalse();
        assertThat(a.host()).isEqualTo("fd00:0:0:0:0:0:0:50");
        assertThat(FloatingAddress.parse("fd00::50").prefixLength()).isEqualTo(128);
    }

    @Test
    void equalityIgnoresPrefix() {
        assertThat(FloatingAddress.parse("10.1.2.3/24")).isEqualTo(FloatingAddress.parse("10.1.2.3/32"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "host.example", "10.1.2", "10.1.2.3/33", "10.1.2.3/x", "fd00::1/129",
            "0.0.0.0", "127.0.0.1", "224.0.0.1", "::", "10.1.2.3/-1"})
    void refusesBadAddresses(String text) {
        assertThatThrownBy(() -> FloatingAddress.parse(text))
                .isInstanceOf(FloatingIpException.BadAddress.class)
                .hasMessageContaining("bad floating address");
    }

    @Test
    void subnetContainment() throws Exception {
        FloatingAddress net = FloatingAddress.parse("10.1.2.1/23");
        assertThat(net.subnetContains(InetAddress.getByName("10.1.3.200"))).isTrue();
        assertThat(net.subnetContains(InetAddress.getByName("10.1.4.1"))).isFalse();
        assertThat(net.subnetContains(InetAddress.getByName("fd00::1"))).isFalse();
    }
}
