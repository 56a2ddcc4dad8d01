package org.migrationmesh.agent.migration;

import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class MigrationLeftoversTest {
    private static Migration migration(String id, String from, String to, MigrationOutcome outcome) {
        return Migration.newBuilder().setId(id).setContainerId("c-" + id).setSource(from).setDestination(to)
                .setOutcome(outcome).build();
    }

    private static ContainerState runningHere(String id) {
        return new ContainerState(id, 42, "running", Path.of("/b", id));
    }

    @Test
    void dirsOfEndedMigrationsGoOthersStay() {
        Map<String, Migration> ms = Map.of(
                "m-aborted", migration("m-aborted", "a1", "a3", MigrationOutcome.ABORTED),
                "m-done", migration("m-done", "a1", "a3", MigrationOutcome.COMMITTED),
                "m-now", migration("m-now", "a2", "a1", MigrationOutcome.OUTCOME_PENDING));
        MigrationLeftovers.Plan p = MigrationLeftovers.plan("a3", ms, Map.of(),
                List.of("m-aborted", "m-done", "m-now", ".content", "bundle-x"), List.of());
        assertThat(p.migrationDirs()).containsExactly("m-aborted", "m-done");
        assertThat(p.liftNetworkLock()).as("no migration of a3 pending").isTrue();
    }

    @Test
    void aCopyOwnedElsewhereGoesUnlessAMigrationMovesIt() {
        Map<String, Container> cs = Map.of(
                "lost", Container.newBuilder().setId("lost").setOwner("a1").build(),
                "mine", Container.newBuilder().setId("mine").setOwner("a3").build(),
                "moving", Container.newBuilder().setId("moving").setOwner("a1").setMigrationId("m-now").build());
        Map<String, Migration> ms = Map.of("m-now", migration("m-now", "a1", "a3", MigrationOutcome.OUTCOME_PENDING));
        MigrationLeftovers.Plan p = MigrationLeftovers.plan("a3", ms, cs, List.of(),
                List.of(runningHere("lost"), runningHere("mine"), runningHere("moving"), runningHere("not-the-clusters")));
        assertThat(p.foreignContainers()).containsExactly("lost");
        assertThat(p.liftNetworkLock()).as("a migration to a3 is pending: its restore may hold the lock").isFalse();
    }

    @Test
    void pagesOfAMigrationThatBroughtAContainerHereAreKeptAndParentsOfGoneContainersGo() {
        Map<String, Migration> ms = Map.of(
                "m-in", migration("m-in", "a1", "a3", MigrationOutcome.COMMITTED),
                "m-out", migration("m-out", "a3", "a2", MigrationOutcome.COMMITTED),
                "m-failed", migration("m-failed", "a1", "a3", MigrationOutcome.ABORTED),
                "m-in-gone", migration("m-in-gone", "a2", "a3", MigrationOutcome.COMMITTED));
        Map<String, Container> cs = Map.of(
                "c-m-in", Container.newBuilder().setId("c-m-in").setOwner("a3").build(),
                "c-m-out", Container.newBuilder().setId("c-m-out").setOwner("a2").build(),
                "c-m-failed", Container.newBuilder().setId("c-m-failed").setOwner("a1").build(),
                "kept", Container.newBuilder().setId("kept").setOwner("a1").build());
        MigrationLeftovers.Plan p = MigrationLeftovers.plan("a3", ms, cs, List.of("m-in", "m-out", "m-failed", "m-in-gone"),
                List.of(), List.of("kept", "c-m-out", "stopped-since"));
        assertThat(p.keepAsParent()).containsExactly(Map.entry("m-in", "c-m-in"));
        assertThat(p.staleParents()).containsExactly("stopped-since");
        assertThat(p.migrationDirs()).containsExactly("m-failed", "m-in", "m-in-gone", "m-out");
    }

    @Test
    void pagesOfAContainerThatLeftAgainAreNotKeptOverTheDumpThatTookItAway() {
        Map<String, Migration> ms = Map.of(
                "m-in", migration("m-in", "a1", "a3", MigrationOutcome.COMMITTED),
                "m-back", migration("m-back", "a3", "a1", MigrationOutcome.COMMITTED));
        Map<String, Container> cs = Map.of("c-m-in", Container.newBuilder().setId("c-m-in").setOwner("a1").build());
        MigrationLeftovers.Plan p = MigrationLeftovers.plan("a3", ms, cs, List.of("m-in", "m-back"), List.of(), List.of("c-m-in"));
        assertThat(p.keepAsParent()).as("c-m-in left a3 again before the sweep").isEmpty();
        assertThat(p.staleParents()).as("the cluster still has it").isEmpty();
    }

    @Test
    void tmpfsMountsOfAContainerNeitherHereNorComingNorGoingAreReleased() {
        Map<String, Migration> ms = Map.of("m-now", migration("m-now", "a1", "a3", MigrationOutcome.OUTCOME_PENDING));
        Map<String, Container> cs = Map.of(
                "c-m-now", Container.newBuilder().setId("c-m-now").setOwner("a1").setMigrationId("m-now").build(),
                "running", Container.newBuilder().setId("running").setOwner("a3").build(),
                "mine-exited", Container.newBuilder().setId("mine-exited").setOwner("a3").build(),
                "abandoned", Container.newBuilder().setId("abandoned").setOwner("a2").build());
        MigrationLeftovers.Plan p = MigrationLeftovers.plan("a3", ms, cs, List.of(), List.of(runningHere("running")), List.of(),
                List.of("c-m-now", "running", "mine-exited", "abandoned", "deleted"));
        assertThat(p.staleTmpfs()).containsExactly("abandoned", "deleted");
        assertThat(p.isEmpty()).isFalse();
    }

    @Test
    void nothingLeftNothingDone() {
        MigrationLeftovers.Plan p = MigrationLeftovers.plan("a3", Map.of(), Map.of(), List.of(".content"), List.of());
        assertThat(p.isEmpty()).isTrue();
    }
}
