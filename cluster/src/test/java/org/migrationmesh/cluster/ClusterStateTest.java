package org.migrationmesh.cluster;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.cluster.RefusalCode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.migrationmesh.cluster.Commands.*;

class ClusterStateTest {
    private ClusterState state;
    private long now = 1_000;

    @BeforeEach
    void threeMembersOneRunningContainer() {
        state = new ClusterState();
        for (String m : new String[] {"a", "b", "c"}) {
            applied(join(m, m + ":7000", m + ":7100", "eu", null));
        }
        applied(register("web", "sha256:1", "a", "10.9.0.5", ContainerState.RUNNING));
    }

    private CommandResult apply(Command c) {
        now += 10;
        return state.apply(at(now, c));
    }

    private CommandResult applied(Command c) {
        CommandResult r = apply(c);
        assertThat(r.getApplied()).as(r.getRefusal()).isTrue();
        return r;
    }

    private void refused(Command c, RefusalCode code, String messagePart) {
        ClusterState before = ClusterState.fromSnapshot(state.toSnapshot());
        CommandResult r = apply(c);
        assertThat(r.getApplied()).isFalse();
        assertThat(r.getCode()).isEqualTo(code);
        assertThat(r.getRefusal()).contains(messagePart);
        assertThat(state).as("a refused command leaves the state unchanged").isEqualTo(before);
    }

    private Container web() {
        return state.container("web").orElseThrow();
    }

    @Test
    void registrationGivesTheOwnerEpochOneAndTheIpFollows() {
        assertThat(web().getOwner()).isEqualTo("a");
        assertThat(web().getEpoch()).isEqualTo(1);
        assertThat(state.ip("10.9.0.5").orElseThrow().getOwner()).isEqualTo("a");
        assertThat(state.ip("10.9.0.5").orElseThrow().getEpoch()).isEqualTo(1);
    }

    @Test
    void aContainerHasExactlyOneOwner() {
        refused(register("web", "sha256:2", "b", "", ContainerState.RUNNING), RefusalCode.ALREADY_EXISTS, "exactly one owner");
    }

    @Test
    void theOwnerMustBeAMember() {
        refused(register("db", "sha256:2", "zz", "", ContainerState.RUNNING), RefusalCode.NOT_FOUND, "member 'zz'");
    }

    @Test
    void aFloatingIpBelongsToOneContainer() {
        refused(register("db", "sha256:2", "b", "10.9.0.5", ContainerState.RUNNING), RefusalCode.IN_USE, "belongs to container web");
    }

    @Test
    void fullMigrationMovesContainerAndIpInTheCommitEntry() {
        long token = applied(startMigration("m1", "web", "", "b", 1)).getEpoch();
        assertThat(token).isEqualTo(2);
        applied(copyRound("m1", token, 1000, 5));
        applied(copyRound("m1", token, 200, 1));
        applied(advance("m1", MigrationPhase.FREEZE, token));
        applied(advance("m1", MigrationPhase.RESTORE, token));
        assertThat(web().getOwner()).as("owner unchanged until COMMIT").isEqualTo("a");
        long after = applied(advance("m1", MigrationPhase.COMMIT, token)).getEpoch();

        assertThat(web().getOwner()).isEqualTo("b");
        assertThat(web().getEpoch()).isEqualTo(after).isEqualTo(3);
        assertThat(web().getMigrationId()).isEmpty();
        assertThat(state.ip("10.9.0.5").orElseThrow().getOwner()).isEqualTo("b");
        assertThat(state.ip("10.9.0.5").orElseThrow().getEpoch()).isEqualTo(2);
        Migration m = state.migration("m1").orElseThrow();
        assertThat(m.getOutcome()).isEqualTo(MigrationOutcome.COMMITTED);
        assertThat(m.getCopyRounds()).isEqualTo(2);
        assertThat(m.getBytesCopied()).isEqualTo(1200);
        assertThat(m.getStartedMillis()).isLessThan(m.getFinishedMillis());
    }

    @Test
    void aSecondMigrationOfAMigratingContainerIsRefused() {
        applied(startMigration("m1", "web", "", "b", 0));
        refused(startMigration("m2", "web", "", "c", 0), RefusalCode.ALREADY_MIGRATING, "already migrating (migration m1");
    }

    @Test
    void aMigrationFromAStaleEpochIsRefused() {
        refused(startMigration("m1", "web", "", "b", 7), RefusalCode.STALE_EPOCH, "epoch 7");
    }

    @Test
    void aPhaseChangeFromAStaleEpochIsRefused() {
        long token = applied(startMigration("m1", "web", "", "b", 1)).getEpoch();
        CommandResult r = apply(advance("m1", MigrationPhase.COPY, token - 1));
        assertThat(r.getApplied()).isFalse();
        assertThat(r.getCode()).isEqualTo(RefusalCode.STALE_EPOCH);
        assertThat(r.getExpectedEpoch()).isEqualTo(token - 1);
        assertThat(r.getEpoch()).isEqualTo(token);
        assertThat(state.migration("m1").orElseThrow().getPhase()).isEqualTo(MigrationPhase.PREPARE);
    }

    @Test
    void anAbortedMigrationsTokenCannotDriveALaterOne() {
        long first = applied(startMigration("m1", "web", "", "b", 0)).getEpoch();
        applied(abort("m1", first, "copy failed"));
        long second = applied(startMigration("m2", "web", "", "c", 0)).getEpoch();
        assertThat(second).isGreaterThan(first);
        refused(abort("m1", first, "late"), RefusalCode.INVALID_TRANSITION, "already ABORTED");
        // A straggler of m1 that carries m1's token is refused for m2 as well.
        refused(advance("m2", MigrationPhase.COPY, first), RefusalCode.STALE_EPOCH, "stale epoch");
    }

    @Test
    void phasesFollowTheTransactionOrder() {
        long token = applied(startMigration("m1", "web", "", "b", 0)).getEpoch();
        refused(advance("m1", MigrationPhase.COMMIT, token), RefusalCode.INVALID_TRANSITION, "cannot go from PREPARE to COMMIT");
        refused(advance("m1", MigrationPhase.RESTORE, token), RefusalCode.INVALID_TRANSITION, "allowed next");
        applied(advance("m1", MigrationPhase.FREEZE, token));
        refused(advance("m1", MigrationPhase.COPY, token), RefusalCode.INVALID_TRANSITION, "FREEZE to COPY");
    }

    @Test
    void abortBeforeCommitKeepsTheSourceAndBumpsTheEpoch() {
        long token = applied(startMigration("m1", "web", "", "b", 0)).getEpoch();
        applied(advance("m1", MigrationPhase.FREEZE, token));
        applied(advance("m1", MigrationPhase.RESTORE, token));
        long after = applied(abort("m1", token, "restore failed")).getEpoch();
        assertThat(web().getOwner()).isEqualTo("a");
        assertThat(after).isEqualTo(token + 1).isEqualTo(web().getEpoch());
        assertThat(state.migration("m1").orElseThrow().getPhase()).isEqualTo(MigrationPhase.ABORT);
        assertThat(state.migration("m1").orElseThrow().getAbortReason()).isEqualTo("restore failed");
        assertThat(state.ip("10.9.0.5").orElseThrow().getOwner()).isEqualTo("a");
    }

    @Test
    void noAbortAfterCommit() {
        long token = applied(startMigration("m1", "web", "", "b", 0)).getEpoch();
        applied(advance("m1", MigrationPhase.FREEZE, token));
        applied(advance("m1", MigrationPhase.RESTORE, token));
        applied(advance("m1", MigrationPhase.COMMIT, token));
        refused(abort("m1", token, "too late"), RefusalCode.INVALID_TRANSITION, "already COMMITTED");
        refused(abort("m1", 0, "operator"), RefusalCode.INVALID_TRANSITION, "already COMMITTED");
    }

    @Test
    void migrationNeedsAValidDestinationAndSource() {
        refused(startMigration("m1", "web", "", "a", 0), RefusalCode.INVALID_ARGUMENT, "already runs on a");
        refused(startMigration("m1", "web", "", "nobody", 0), RefusalCode.NOT_FOUND, "member 'nobody'");
        refused(startMigration("m1", "web", "b", "c", 0), RefusalCode.INVALID_ARGUMENT, "owned by a");
        refused(startMigration("m1", "nope", "", "b", 0), RefusalCode.NOT_FOUND, "no container nope");
    }

    @Test
    void onlyARunningContainerMigrates() {
        applied(setState("web", ContainerState.STOPPED, 1));
        refused(startMigration("m1", "web", "", "b", 0), RefusalCode.INVALID_TRANSITION, "only a running container");
    }

    @Test
    void stateChangesAreFencedByEpoch() {
        refused(setState("web", ContainerState.STOPPED, 5), RefusalCode.STALE_EPOCH, "carries epoch 5");
        long token = applied(startMigration("m1", "web", "", "b", 0)).getEpoch();
        refused(setState("web", ContainerState.STOPPED, token), RefusalCode.IN_USE, "abort the migration");
        refused(removeContainer("web", token), RefusalCode.IN_USE, "abort the migration");
    }

    @Test
    void removingAContainerReleasesItsIpWithANewEpoch() {
        applied(removeContainer("web", 1));
        assertThat(state.container("web")).isEmpty();
        assertThat(state.ip("10.9.0.5").orElseThrow().getOwner()).isEmpty();
        assertThat(state.ip("10.9.0.5").orElseThrow().getEpoch()).isEqualTo(2);
        applied(register("db", "sha256:2", "c", "10.9.0.5", ContainerState.RUNNING));
        assertThat(state.ip("10.9.0.5").orElseThrow().getEpoch()).isEqualTo(3);
    }

    @Test
    void membersWithContainersOrIncomingMigrationsCannotLeave() {
        refused(removeMember("a"), RefusalCode.IN_USE, "still owns containers [web]");
        applied(startMigration("m1", "web", "", "b", 0));
        refused(removeMember("b"), RefusalCode.IN_USE, "destination of migration m1");
        applied(removeMember("c"));
        assertThat(state.member("c")).isEmpty();
    }

    @Test
    void heartbeatsRecordTheCommandTimeAndNeedAMember() {
        applied(heartbeat("b"));
        assertThat(state.member("b").orElseThrow().getLastHeartbeatMillis()).isEqualTo(now);
        refused(heartbeat("ghost"), RefusalCode.NOT_FOUND, "member 'ghost'");
    }

    @Test
    void theStatesClockNeverGoesBackwards() {
        long before = state.clockMillis();
        state.apply(at(5, heartbeat("b")));
        assertThat(state.clockMillis()).isEqualTo(before);
        assertThat(state.member("b").orElseThrow().getLastHeartbeatMillis()).isEqualTo(before);
    }

    @Test
    void aCommandWithoutKindIsRefused() {
        refused(Command.getDefaultInstance(), RefusalCode.INVALID_ARGUMENT, "no kind");
    }
}
