package org.migrationmesh.agent.migration;

import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.cluster.MigrationPhase;

import java.net.ConnectException;

import static org.assertj.core.api.Assertions.assertThat;

class AbortReasonTest {
    @Test
    void aPeersStatusSaysWhichPeerAnswered() {
        String r = MigrationRunner.reason(MigrationPhase.RESTORE, "tick1", "a1", "a2",
                Status.INTERNAL.withDescription("agent a2 could not restore: container with given ID already exists")
                        .asRuntimeException());
        assertThat(r).isEqualTo("RESTORE of container tick1 (a1 -> a2) failed: INTERNAL from a2: agent a2 could not"
                + " restore: container with given ID already exists");
    }

    @Test
    void aRootCauseIsAddedOnlyWhenItSaysMore() {
        RuntimeException wrapped = new IllegalStateException("gave up after 5 attempts",
                Status.UNAVAILABLE.withCause(new ConnectException("Connection refused")).asRuntimeException());
        assertThat(MigrationRunner.reason(MigrationPhase.FREEZE, "mem1", "a1", "a3", wrapped))
                .isEqualTo("FREEZE of container mem1 (a1 -> a3) failed: IllegalStateException: gave up after 5 attempts"
                        + " (ConnectException: Connection refused)");
        RuntimeException same = new IllegalStateException("CRC32C 1 differs",
                Status.DATA_LOSS.withDescription("CRC32C 1 differs").asRuntimeException());
        assertThat(MigrationRunner.reason(MigrationPhase.FREEZE, "t", "a2", "a3", same)).endsWith("IllegalStateException: CRC32C 1 differs");
    }
}
