package org.migrationmesh.rpc;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostPortTest {
    @Test
    void parsesIpv4AndBracketedIpv6() {
        assertThat(RpcEndpoints.HostPort.parse("10.1.2.3:7000")).isEqualTo(new RpcEndpoints.HostPort("10.1.2.3", 7000));
        RpcEndpoints.HostPort v6 = RpcEndpoints.HostPort.parse("[fd00::1]:7000");
        assertThat(v6.host()).isEqualTo("fd00::1");
        assertThat(v6).hasToString("[fd00::1]:7000");
    }

    @Test
    void refusesWhatIsNotHostPort() {
        assertThatThrownBy(() -> RpcEndpoints.HostPort.parse("host")).hasMessageContaining("'host' is not HOST:PORT");
        assertThatThrownBy(() -> RpcEndpoints.HostPort.parse("host:x")).hasMessageContaining("no numeric port");
        assertThatThrownBy(() -> RpcEndpoints.HostPort.parse("host:70000")).hasMessageContaining("out of range");
    }
}
