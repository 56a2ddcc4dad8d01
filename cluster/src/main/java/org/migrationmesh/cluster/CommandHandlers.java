package org.migrationmesh.cluster;

import org.migrationmesh.proto.cluster.AbortMigration;
import org.migrationmesh.proto.cluster.AdvanceMigration;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.FloatingIp;
import org.migrationmesh.proto.cluster.Heartbeat;
import org.migrationmesh.proto.cluster.JoinMember;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.cluster.RefusalCode;
import org.migrationmesh.proto.cluster.RegisterContainer;
import org.migrationmesh.proto.cluster.RemoveContainer;
import org.migrationmesh.proto.cluster.RemoveMember;
import org.migrationmesh.proto.cluster.SetContainerState;
import org.migrationmesh.proto.cluster.StartMigration;

import java.util.List;

/**
 * One command's effect on a {@link ClusterState}. Every handler validates everything first and
 * mutates only after, so a refusal (a {@link CommandRefusedException}) leaves the state untouched.
 * Each returns the epoch relevant to the caller (the container's, or 0).
 */
final class CommandHandlers {
    private final ClusterState s;
    private final long now;

    CommandHandlers(ClusterState state, long now) {
        this.s = state;
        this.now = now;
    }

    long handle(Command command) {
        return switch (command.getKindCase()) {
            case JOIN_MEMBER -> join(command.getJoinMember());
            case HEARTBEAT -> heartbeat(command.getHeartbeat());
            case REMOVE_MEMBER -> removeMember(command.getRemoveMember());
            case REGISTER_CONTAINER -> register(command.getRegisterContainer());
            case SET_CONTAINER_STATE -> setState(command.getSetContainerState());
            case REMOVE_CONTAINER -> removeContainer(command.getRemoveContainer());
            case START_MIGRATION -> startMigration(command.getStartMigration());
            case ADVANCE_MIGRATION -> advance(command.getAdvanceMigration());
            case ABORT_MIGRATION -> abort(command.getAbortMigration());
            case KIND_NOT_SET -> throw refuse(RefusalCode.INVALID_ARGUMENT, "command has no kind set");
        };
    }

    // --- members -------------------------------------------------------------------------------

    private long join(JoinMember j) {
        requireNonBlank(j.getMemberId(), "member id");
        requireNonBlank(j.getRaftAddress(), "raft address of member " + j.getMemberId());
        Member old = s.members.get(j.getMemberId());
        Member.Builder m = old == null ? Member.newBuilder().setId(j.getMemberId()).setJoinedMillis(now) : old.toBuilder();
        m.setRaftAddress(j.getRaftAddress())
                .setControlAddress(j.getControlAddress())
                .setRegion(j.getRegion())
                .setLastHeartbeatMillis(now);
        if (j.hasCapacity()) m.setCapacity(j.getCapacity());
        if (j.hasCapabilities()) m.setCapabilities(j.getCapabilities());
        s.members.put(j.getMemberId(), m.build());
        return 0;
    }

    private long heartbeat(Heartbeat h) {
        Member m = requireMember(h.getMemberId(), "heartbeat");
        s.members.put(m.getId(), m.toBuilder().setLastHeartbeatMillis(now).build());
        return 0;
    }

    private long removeMember(RemoveMember r) {
        Member m = requireMember(r.getMemberId(), "remove");
        List<String> owned = s.containersOwnedBy(m.getId()).stream().map(Container::getId).toList();
        if (!owned.isEmpty()) {
            throw refuse(RefusalCode.IN_USE, "member " + m.getId() + " still owns containers " + owned
                    + "; migrate or remove them first");
        }
        for (Migration mig : s.migrations.values()) {
            if (mig.getOutcome() == MigrationOutcome.OUTCOME_PENDING && mig.getDestination().equals(m.getId())) {
                throw refuse(RefusalCode.IN_USE, "member " + m.getId() + " is the destination of migration "
                        + mig.getId() + "; wait for it or abort it first");
            }
        }
        s.members.remove(m.getId());
        return 0;
    }

    // --- containers ----------------------------------------------------------------------------

    private long register(RegisterContainer r) {
        requireNonBlank(r.getContainerId(), "container id");
        requireNonBlank(r.getBundleDigest(), "bundle digest of container " + r.getContainerId());
        if (s.containers.containsKey(r.getContainerId())) {
            throw refuse(RefusalCode.ALREADY_EXISTS, "container " + r.getContainerId() + " already exists (owner "
                    + s.containers.get(r.getContainerId()).getOwner() + "); a container has exactly one owner");
        }
        requireMember(r.getOwner(), "own container " + r.getContainerId());
        ContainerState state = r.getState() == ContainerState.CONTAINER_STATE_UNSPECIFIED
                ? ContainerState.REGISTERED : r.getState();
        if (state == ContainerState.UNRECOGNIZED) throw refuse(RefusalCode.INVALID_ARGUMENT, "unknown container state");
        FloatingIp ip = null;
        if (!r.getFloatingIp().isEmpty()) {
            FloatingIp old = s.ips.get(r.getFloatingIp());
            if (old != null && !old.getContainerId().isEmpty()) {
                throw refuse(RefusalCode.IN_USE, "floating IP " + r.getFloatingIp() + " belongs to container "
                        + old.getContainerId() + "; pick another address");
            }
            ip = FloatingIp.newBuilder().setAddress(r.getFloatingIp()).setOwner(r.getOwner())
                    .setContainerId(r.getContainerId()).setEpoch(old == null ? 1 : old.getEpoch() + 1).build();
        }
        Container.Builder cb = Container.newBuilder().setId(r.getContainerId()).setBundleDigest(r.getBundleDigest())
                .setOwner(r.getOwner()).setFloatingIp(r.getFloatingIp()).setEpoch(1).setState(state)
                .setUpdatedMillis(now);
        if (r.hasSpec()) cb.setSpec(r.getSpec());
        Container c = cb.build();
        s.containers.put(c.getId(), c);
        if (ip != null) s.ips.put(ip.getAddress(), ip);
        return c.getEpoch();
    }

    private long setState(SetContainerState r) {
        Container c = requireContainer(r.getContainerId());
        requireEpoch(c, r.getEpoch(), "change the state of");
        if (r.getState() == ContainerState.CONTAINER_STATE_UNSPECIFIED || r.getState() == ContainerState.UNRECOGNIZED) {
            throw refuse(RefusalCode.INVALID_ARGUMENT, "container " + c.getId() + ": no target state given");
        }
        if (!c.getMigrationId().isEmpty() && r.getState() != ContainerState.RUNNING) {
            throw refuse(RefusalCode.IN_USE, "container " + c.getId() + " is migrating (migration "
                    + c.getMigrationId() + "); abort the migration before stopping it");
        }
        s.containers.put(c.getId(), c.toBuilder().setState(r.getState()).setUpdatedMillis(now).build());
        return c.getEpoch();
    }

    private long removeContainer(RemoveContainer r) {
        Container c = requireContainer(r.getContainerId());
        requireEpoch(c, r.getEpoch(), "remove");
        if (!c.getMigrationId().isEmpty()) {
            throw refuse(RefusalCode.IN_USE, "container " + c.getId() + " is migrating (migration "
                    + c.getMigrationId() + "); abort the migration first");
        }
        s.containers.remove(c.getId());
        FloatingIp ip = s.ips.get(c.getFloatingIp());
        if (ip != null) {
            s.ips.put(ip.getAddress(), ip.toBuilder().setOwner("").setContainerId("").setEpoch(ip.getEpoch() + 1).build());
        }
        return c.getEpoch();
    }

    // --- migrations ----------------------------------------------------------------------------

    private long startMigration(StartMigration r) {
        requireNonBlank(r.getMigrationId(), "migration id");
        if (s.migrations.containsKey(r.getMigrationId())) {
            throw refuse(RefusalCode.ALREADY_EXISTS, "migration id " + r.getMigrationId() + " is already used");
        }
        Container c = requireContainer(r.getContainerId());
        if (!c.getMigrationId().isEmpty()) {
            Migration running = s.migrations.get(c.getMigrationId());
            throw refuse(RefusalCode.ALREADY_MIGRATING, "container " + c.getId() + " is already migrating (migration "
                    + c.getMigrationId() + ", phase " + running.getPhase() + ", to " + running.getDestination()
                    + "); watch it or abort it first");
        }
        if (r.getExpectedEpoch() != 0) requireEpoch(c, r.getExpectedEpoch(), "migrate");
        String source = r.getSource().isEmpty() ? c.getOwner() : r.getSource();
        if (!source.equals(c.getOwner())) {
            throw refuse(RefusalCode.INVALID_ARGUMENT, "container " + c.getId() + " is owned by " + c.getOwner()
                    + ", not by the given source " + source);
        }
        requireMember(r.getDestination(), "receive container " + c.getId());
        if (r.getDestination().equals(source)) {
            throw refuse(RefusalCode.INVALID_ARGUMENT, "container " + c.getId() + " already runs on "
                    + source + "; pick another destination");
        }
        if (c.getState() != ContainerState.RUNNING) {
            throw refuse(RefusalCode.INVALID_TRANSITION, "container " + c.getId() + " is " + c.getState()
                    + "; only a running container migrates");
        }
        long token = c.getEpoch() + 1;
        s.containers.put(c.getId(), c.toBuilder().setEpoch(token).setMigrationId(r.getMigrationId())
                .setUpdatedMillis(now).build());
        s.migrations.put(r.getMigrationId(), Migration.newBuilder().setId(r.getMigrationId())
                .setContainerId(c.getId()).setSource(source).setDestination(r.getDestination())
                .setPhase(MigrationPhase.PREPARE).setEpoch(token).setStartedMillis(now)
                .setLastProgressMillis(now).setOutcome(MigrationOutcome.OUTCOME_PENDING)
                .setOptions(r.getOptions()).build());
        return token;
    }

    private long advance(AdvanceMigration r) {
        Migration m = requirePending(r.getMigrationId(), r.getEpoch(), "move to " + r.getPhase());
        if (!MigrationPhases.canAdvance(m.getPhase(), r.getPhase())) {
            throw refuse(RefusalCode.INVALID_TRANSITION, "migration " + m.getId() + " of container "
                    + m.getContainerId() + " cannot go from " + m.getPhase() + " to " + r.getPhase()
                    + "; allowed next: " + MigrationPhases.next(m.getPhase()));
        }
        Migration.Builder next = m.toBuilder().setPhase(r.getPhase()).setLastProgressMillis(now);
        if (r.getPhase() == MigrationPhase.COPY) {
            next.setCopyRounds(m.getCopyRounds() + 1).setBytesCopied(m.getBytesCopied() + r.getBytesCopied());
        }
        if (r.getPhase() != MigrationPhase.COMMIT) {
            s.migrations.put(m.getId(), next.build());
            return m.getEpoch();
        }
        // COMMIT: the container and its floating IP move to the destination in this one entry.
        Container c = s.containers.get(m.getContainerId());
        long epoch = c.getEpoch() + 1;
        s.containers.put(c.getId(), c.toBuilder().setOwner(m.getDestination()).setEpoch(epoch)
                .setMigrationId("").setUpdatedMillis(now).build());
        FloatingIp ip = s.ips.get(c.getFloatingIp());
        if (ip != null) {
            s.ips.put(ip.getAddress(), ip.toBuilder().setOwner(m.getDestination()).setEpoch(ip.getEpoch() + 1).build());
        }
        if (r.hasReport()) next.setReport(r.getReport());
        s.migrations.put(m.getId(), next.setOutcome(MigrationOutcome.COMMITTED).setFinishedMillis(now).build());
        return epoch;
    }

    private long abort(AbortMigration r) {
        Migration m = requirePending(r.getMigrationId(), r.getEpoch(), "abort");
        if (!MigrationPhases.canAbort(m.getPhase())) {
            throw refuse(RefusalCode.INVALID_TRANSITION, "migration " + m.getId() + " is in " + m.getPhase()
                    + " and cannot be aborted");
        }
        Container c = s.containers.get(m.getContainerId());
        long epoch = c.getEpoch() + 1;
        s.containers.put(c.getId(), c.toBuilder().setEpoch(epoch).setMigrationId("").setUpdatedMillis(now).build());
        s.migrations.put(m.getId(), m.toBuilder().setPhase(MigrationPhase.ABORT).setOutcome(MigrationOutcome.ABORTED)
                .setAbortReason(r.getReason()).setLastProgressMillis(now).setFinishedMillis(now).build());
        return epoch;
    }

    // --- checks --------------------------------------------------------------------------------

    /** A pending migration whose token matches; epoch 0 is accepted only for abort by an operator. */
    private Migration requirePending(String id, long epoch, String what) {
        Migration m = s.migrations.get(id);
        if (m == null) throw refuse(RefusalCode.NOT_FOUND, "no migration " + id + " to " + what);
        if (m.getOutcome() != MigrationOutcome.OUTCOME_PENDING) {
            throw refuse(RefusalCode.INVALID_TRANSITION, "migration " + id + " of container " + m.getContainerId()
                    + " is already " + m.getOutcome() + "; cannot " + what);
        }
        boolean operatorAbort = epoch == 0 && what.equals("abort");
        if (!operatorAbort && epoch != m.getEpoch()) {
            throw new CommandRefusedException(RefusalCode.STALE_EPOCH, "migration " + id + " of container "
                    + m.getContainerId() + ": command carries epoch " + epoch + " but the migration holds epoch "
                    + m.getEpoch() + "; refusing to " + what + " from a stale epoch", epoch, m.getEpoch());
        }
        return m;
    }

    private void requireEpoch(Container c, long epoch, String what) {
        if (epoch != c.getEpoch()) {
            throw new CommandRefusedException(RefusalCode.STALE_EPOCH, "container " + c.getId() + " is at epoch "
                    + c.getEpoch() + " (owner " + c.getOwner() + ") but the command to " + what + " it carries epoch "
                    + epoch + "; re-read the container and retry", epoch, c.getEpoch());
        }
    }

    private Container requireContainer(String id) {
        Container c = s.containers.get(id);
        if (c == null) throw refuse(RefusalCode.NOT_FOUND, "no container " + id + " in the cluster; run it first");
        return c;
    }

    private Member requireMember(String id, String what) {
        Member m = s.members.get(id);
        if (m == null) {
            throw refuse(RefusalCode.NOT_FOUND, "member '" + id + "' is not in the cluster (known: "
                    + s.members.keySet() + "); cannot " + what);
        }
        return m;
    }

    private static void requireNonBlank(String value, String what) {
        if (value.isBlank()) throw refuse(RefusalCode.INVALID_ARGUMENT, what + " is empty");
    }

    private static CommandRefusedException refuse(RefusalCode code, String message) {
        return new CommandRefusedException(code, message);
    }
}
