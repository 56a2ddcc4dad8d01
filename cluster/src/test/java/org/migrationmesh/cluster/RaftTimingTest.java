package org.migrationmesh.cluster;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RaftTimingTest {
    @Test
    void shortRoundTripsKeepTheLanFloor() {
        assertThat(RaftTiming.forRtt(Duration.ofMillis(1))).isEqualTo(RaftTiming.LAN);
    }

    @Test
    void longRoundTripsScaleElectionAndRequestTimeouts() {
        RaftTiming t = RaftTiming.forRtt(Duration.ofMillis(300));
        assertThat(t.electionTimeoutMin()).isEqualTo(Duration.ofSeconds(3));
        assertThat(t.electionTimeoutMax()).isEqualTo(Duration.ofSeconds(6));
        assertThat(t.requestTimeout()).isEqualTo(Duration.ofSeconds(9));
    }

    @Test
    void inconsistentTimingsAreRefusedWithTheirValues() {
        assertThatThrownBy(() -> new RaftTiming(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(3)))
                .hasMessageContaining("PT1S").hasMessageContaining("PT2S");
        assertThatThrownBy(() -> new RaftTiming(Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(1)))
                .hasMessageContaining("requestTimeout");
    }

    @Test
    void phaseGraphAllowsAbortOnlyBeforeCommit() {
        assertThat(MigrationPhases.canAbort(org.migrationmesh.proto.cluster.MigrationPhase.RESTORE)).isTrue();
        assertThat(MigrationPhases.canAbort(org.migrationmesh.proto.cluster.MigrationPhase.COMMIT)).isFalse();
        assertThat(MigrationPhases.canAdvance(org.migrationmesh.proto.cluster.MigrationPhase.PREPARE,
                org.migrationmesh.proto.cluster.MigrationPhase.FREEZE)).as("stop-and-copy").isTrue();
    }
}
