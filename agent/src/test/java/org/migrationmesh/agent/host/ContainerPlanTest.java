package org.migrationmesh.agent.host;

import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ContainerPlanTest {
    private static final ContainerSpec TICK = ContainerSpec.newBuilder().setWorkload("tickserver").addArgs("/bin/tickserver").build();

    private static Container c(String id, String owner, org.migrationmesh.proto.cluster.ContainerState state) {
        return Container.newBuilder().setId(id).setOwner(owner).setState(state).setSpec(TICK).setEpoch(1).build();
    }

    private static ContainerState local(String id, String status) {
        return new ContainerState(id, 42, status, Path.of("/b"));
    }

    @Test
    void startsWhatItOwnsAndStopsWhatShouldStop() {
        var running = org.migrationmesh.proto.cluster.ContainerState.RUNNING;
        var stopped = org.migrationmesh.proto.cluster.ContainerState.STOPPED;
        List<ContainerPlan.Action> plan = ContainerPlan.plan("a1",
                List.of(c("new", "a1", running), c("ok", "a1", running), c("crashed", "a1", running),
                        c("halt", "a1", stopped), c("theirs", "a2", running)),
                Map.of("ok", local("ok", "running"), "crashed", local("crashed", "stopped"),
                        "halt", local("halt", "running"), "theirs", local("theirs", "running")));
        assertThat(plan).extracting(a -> a.getClass().getSimpleName() + ":" + a.containerId())
                .containsExactly("Start:new", "Restart:crashed", "Stop:halt");
    }

    @Test
    void leavesMigratingAndRecordOnlyContainersAlone() {
        var running = org.migrationmesh.proto.cluster.ContainerState.RUNNING;
        Container migrating = c("m", "a1", running).toBuilder().setMigrationId("mig-1").build();
        Container recordOnly = c("r", "a1", running).toBuilder().clearSpec().build();
        assertThat(ContainerPlan.plan("a1", List.of(migrating, recordOnly), Map.of())).isEmpty();
    }

    @Test
    void heartbeatsAndIntermediatePhasesDoNotCallForAReconcile() {
        var heartbeat = org.migrationmesh.proto.cluster.Command.newBuilder()
                .setHeartbeat(org.migrationmesh.proto.cluster.Heartbeat.getDefaultInstance()).build();
        assertThat(ContainerPlan.affectsContainers(heartbeat)).isFalse();
        for (var phase : List.of(org.migrationmesh.proto.cluster.MigrationPhase.COPY,
                org.migrationmesh.proto.cluster.MigrationPhase.FREEZE, org.migrationmesh.proto.cluster.MigrationPhase.RESTORE)) {
            assertThat(ContainerPlan.affectsContainers(advance(phase))).as(phase.name()).isFalse();
        }
        assertThat(ContainerPlan.affectsContainers(advance(org.migrationmesh.proto.cluster.MigrationPhase.COMMIT))).isTrue();
        assertThat(ContainerPlan.affectsContainers(org.migrationmesh.proto.cluster.Command.newBuilder()
                .setAbortMigration(org.migrationmesh.proto.cluster.AbortMigration.getDefaultInstance()).build())).isTrue();
        assertThat(ContainerPlan.affectsContainers(org.migrationmesh.proto.cluster.Command.newBuilder()
                .setSetContainerState(org.migrationmesh.proto.cluster.SetContainerState.getDefaultInstance()).build())).isTrue();
    }

    private static org.migrationmesh.proto.cluster.Command advance(org.migrationmesh.proto.cluster.MigrationPhase phase) {
        return org.migrationmesh.proto.cluster.Command.newBuilder().setAdvanceMigration(
                org.migrationmesh.proto.cluster.AdvanceMigration.newBuilder().setPhase(phase)).build();
    }
}
