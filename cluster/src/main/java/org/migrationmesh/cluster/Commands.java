package org.migrationmesh.cluster;

import org.migrationmesh.proto.cluster.ContainerSpec;
import org.migrationmesh.proto.cluster.MigrationOptions;
import org.migrationmesh.proto.cluster.MigrationReport;
import org.migrationmesh.proto.runtime.RuntimeCapabilities;

import org.migrationmesh.proto.cluster.AbortMigration;
import org.migrationmesh.proto.cluster.AdvanceMigration;
import org.migrationmesh.proto.cluster.Capacity;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.Heartbeat;
import org.migrationmesh.proto.cluster.JoinMember;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.cluster.RegisterContainer;
import org.migrationmesh.proto.cluster.RemoveContainer;
import org.migrationmesh.proto.cluster.RemoveMember;
import org.migrationmesh.proto.cluster.SetContainerState;
import org.migrationmesh.proto.cluster.StartMigration;

/**
 * Builds the replicated commands. Times are left at 0: the leader stamps them when it accepts the
 * command ({@link #at(long, Command)} stamps one explicitly, for tests and replays).
 */
public final class Commands {
    private Commands() {}

    public static Command at(long timeMillis, Command command) {
        return command.toBuilder().setTimeMillis(timeMillis).build();
    }

    public static Command join(String memberId, String raftAddress, String controlAddress, String region,
                               Capacity capacity) {
        return join(memberId, raftAddress, controlAddress, region, capacity, null);
    }

    /** A join that also reports what the member's host can do (CRIU version, dirty tracking, lazy pages). */
    public static Command join(String memberId, String raftAddress, String controlAddress, String region,
                               Capacity capacity, RuntimeCapabilities capabilities) {
        JoinMember.Builder j = JoinMember.newBuilder().setMemberId(memberId).setRaftAddress(raftAddress)
                .setControlAddress(controlAddress).setRegion(region);
        if (capacity != null) j.setCapacity(capacity);
        if (capabilities != null) j.setCapabilities(capabilities);
        return Command.newBuilder().setJoinMember(j).build();
    }

    public static Command heartbeat(String memberId) {
        return Command.newBuilder().setHeartbeat(Heartbeat.newBuilder().setMemberId(memberId)).build();
    }

    public static Command removeMember(String memberId) {
        return Command.newBuilder().setRemoveMember(RemoveMember.newBuilder().setMemberId(memberId)).build();
    }

    public static Command register(String containerId, String bundleDigest, String owner, String floatingIp,
                                   ContainerState state) {
        return Command.newBuilder().setRegisterContainer(RegisterContainer.newBuilder().setContainerId(containerId)
                .setBundleDigest(bundleDigest).setOwner(owner).setFloatingIp(floatingIp).setState(state)).build();
    }

    /** A registration with what the owner runs. */
    public static Command register(String containerId, String bundleDigest, String owner, String floatingIp,
                                   ContainerState state, ContainerSpec spec) {
        Command c = register(containerId, bundleDigest, owner, floatingIp, state);
        return c.toBuilder().setRegisterContainer(c.getRegisterContainer().toBuilder().setSpec(spec)).build();
    }

    public static Command setState(String containerId, ContainerState state, long epoch) {
        return Command.newBuilder().setSetContainerState(SetContainerState.newBuilder().setContainerId(containerId)
                .setState(state).setEpoch(epoch)).build();
    }

    public static Command removeContainer(String containerId, long epoch) {
        return Command.newBuilder().setRemoveContainer(RemoveContainer.newBuilder().setContainerId(containerId)
                .setEpoch(epoch)).build();
    }

    /** Starts a migration; empty source means the current owner, expected epoch 0 means any. */
    /** A migration with options (post-copy, ...). */
    public static Command startMigration(String migrationId, String containerId, String source, String destination,
                                         long expectedEpoch, MigrationOptions options) {
        Command c = startMigration(migrationId, containerId, source, destination, expectedEpoch);
        return c.toBuilder().setStartMigration(c.getStartMigration().toBuilder().setOptions(options)).build();
    }

    public static Command startMigration(String migrationId, String containerId, String source, String destination,
                                         long expectedEpoch) {
        return Command.newBuilder().setStartMigration(StartMigration.newBuilder().setMigrationId(migrationId)
                .setContainerId(containerId).setSource(source).setDestination(destination)
                .setExpectedEpoch(expectedEpoch)).build();
    }

    public static Command advance(String migrationId, MigrationPhase phase, long epoch) {
        return Command.newBuilder().setAdvanceMigration(AdvanceMigration.newBuilder().setMigrationId(migrationId)
                .setPhase(phase).setEpoch(epoch)).build();
    }

    /** COMMIT with the migration's per-phase figures. */
    public static Command commit(String migrationId, long epoch, MigrationReport report) {
        return Command.newBuilder().setAdvanceMigration(AdvanceMigration.newBuilder().setMigrationId(migrationId)
                .setPhase(MigrationPhase.COMMIT).setEpoch(epoch).setReport(report)).build();
    }

    public static Command copyRound(String migrationId, long epoch, long bytesCopied, long dirtyPages) {
        return Command.newBuilder().setAdvanceMigration(AdvanceMigration.newBuilder().setMigrationId(migrationId)
                .setPhase(MigrationPhase.COPY).setEpoch(epoch).setBytesCopied(bytesCopied)
                .setDirtyPages(dirtyPages)).build();
    }

    public static Command abort(String migrationId, long epoch, String reason) {
        return Command.newBuilder().setAbortMigration(AbortMigration.newBuilder().setMigrationId(migrationId)
                .setEpoch(epoch).setReason(reason)).build();
    }
}
