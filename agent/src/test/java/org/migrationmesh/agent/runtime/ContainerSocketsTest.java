package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ContainerSocketsTest {
    @Test
    void readsSocketInodesOfATcpTable() {
        String table = """
                  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
                   0: 0100007F:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 36619 1 0000000000000000 100 0 0 10 0
                   1: 0100007F:1B58 0100007F:C350 06 00000000:00000000 03:00000F2E 00000000     0        0 0 3 0000000000000000
                   2: 0100007F:9C40 0100007F:1B58 01 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 20 4 30 10 -1
                """;
        assertThat(ContainerSockets.tcpInodes(table)).as("TIME_WAIT's inode 0 belongs to nobody").containsExactlyInAnyOrder(36619L, 41234L);
        assertThat(ContainerSockets.tcpInodes("  sl  local_address\n")).isEmpty();
    }

    @Test
    void readsTheInodeOfASocketLinkOnly() {
        assertThat(ContainerSockets.socketInode("socket:[36619]")).isEqualTo(36619L);
        assertThat(ContainerSockets.socketInode("pipe:[36619]")).isEqualTo(-1L);
        assertThat(ContainerSockets.socketInode("/dev/null")).isEqualTo(-1L);
        assertThat(ContainerSockets.socketInode("socket:[x]")).isEqualTo(-1L);
    }
}
