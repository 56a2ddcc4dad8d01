package org.migrationmesh.agent.daemon;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.migrationmesh.agent.host.ContainerSpecs;
import org.migrationmesh.agent.migration.PreCopyPlan;
import org.migrationmesh.agent.runtime.PreparedRootfs;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.Commands;
import org.migrationmesh.cluster.Peer;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerSpec;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOptions;
import org.migrationmesh.proto.control.AbortMigrationRequest;
import org.migrationmesh.proto.control.AddMemberRequest;
import org.migrationmesh.proto.control.ClusterStatusReply;
import org.migrationmesh.proto.control.ClusterStatusRequest;
import org.migrationmesh.proto.control.ContainerStatusReply;
import org.migrationmesh.proto.control.ContainerStatusRequest;
import org.migrationmesh.proto.control.ControlGrpc;
import org.migrationmesh.proto.control.ListContainersReply;
import org.migrationmesh.proto.control.ListContainersRequest;
import org.migrationmesh.proto.control.MigrateReply;
import org.migrationmesh.proto.control.MigrateRequest;
import org.migrationmesh.proto.control.MigrationProgress;
import org.migrationmesh.proto.control.RaftPeerStatus;
import org.migrationmesh.proto.control.RemoveMemberRequest;
import org.migrationmesh.proto.control.RunContainerRequest;
import org.migrationmesh.proto.control.StopContainerRequest;
import org.migrationmesh.proto.control.WatchMigrationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The control API of one agent. Writes become replicated commands committed through the Raft
 * leader (whichever agent that is); the reply is read from this agent's replica once it has
 * applied the write. Reads come from this agent's replica.
 */
final class ControlService extends ControlGrpc.ControlImplBase {
    private static final Logger log = LoggerFactory.getLogger(ControlService.class);
    private static final Duration APPLY_WAIT = Duration.ofSeconds(10);

    private final ClusterNode node;
    private final ControlDirectory directory;
    private final Clock clock;

    ControlService(ClusterNode node, ControlDirectory directory, Clock clock) {
        this.node = node;
        this.directory = directory;
        this.clock = clock;
    }

    @Override
    public void clusterStatus(ClusterStatusRequest request, StreamObserver<ClusterStatusReply> out) {
        answer(out, this::status);
    }

    private ClusterStatusReply status() {
        String leader = node.leaderId().orElse("");
        ClusterStatusReply.Builder b = ClusterStatusReply.newBuilder()
                .setAnsweredBy(node.id())
                .setLeaderId(leader)
                .setLeaderControlAddress(leader.isEmpty() ? "" : directory.controlAddressOf(leader).orElse(""))
                .setTerm(node.term())
                .setLastAppliedIndex(node.lastAppliedIndex())
                .setNowMillis(clock.millis());
        for (Peer p : node.raftPeers()) {
            b.addRaftPeers(RaftPeerStatus.newBuilder().setId(p.id()).setRaftAddress(p.raftAddress())
                    .setLeader(p.id().equals(leader)));
        }
        b.addAllMembers(node.read(s -> s.members().values().stream().toList()));
        return b.build();
    }

    @Override
    public void listContainers(ListContainersRequest request, StreamObserver<ListContainersReply> out) {
        answer(out, () -> ListContainersReply.newBuilder().setAnsweredBy(node.id())
                .addAllContainers(node.read(s -> s.containers().values().stream().toList())).build());
    }

    @Override
    public void containerStatus(ContainerStatusRequest request, StreamObserver<ContainerStatusReply> out) {
        answer(out, () -> containerReply(request.getContainerId()));
    }

    private ContainerStatusReply containerReply(String containerId) {
        return node.read(s -> {
            Container c = s.container(containerId).orElseThrow(() -> Status.NOT_FOUND.withDescription(
                    "no container " + containerId + " in the cluster (agent " + node.id() + " has applied up to "
                            + "index " + node.lastAppliedIndex() + "); see `agentctl ps`").asRuntimeException());
            ContainerStatusReply.Builder b = ContainerStatusReply.newBuilder().setContainer(c).setAnsweredBy(node.id());
            s.latestMigrationOf(containerId).ifPresent(b::setMigration);
            return b.build();
        });
    }

    @Override
    public void runContainer(RunContainerRequest request, StreamObserver<ContainerStatusReply> out) {
        answer(out, () -> {
            requireNonBlank(request.getContainerId(), "container_id");
            Container existing = node.read(s -> s.container(request.getContainerId()).orElse(null));
            CommandResult r;
            if (existing == null) {
                String owner = request.getOwner().isEmpty() ? node.id() : request.getOwner();
                if (request.hasSpec()) requireRunnableHere(request.getSpec(), owner);
                r = node.submit(request.hasSpec()
                        ? Commands.register(request.getContainerId(), request.getBundleDigest(), owner,
                                request.getFloatingIp(), ContainerState.RUNNING, request.getSpec())
                        : Commands.register(request.getContainerId(), request.getBundleDigest(), owner,
                                request.getFloatingIp(), ContainerState.RUNNING));
            } else {
                r = node.submit(Commands.setState(existing.getId(), ContainerState.RUNNING, existing.getEpoch()));
            }
            awaitApplied(r);
            log.info("container run container={} epoch={} index={}", request.getContainerId(), r.getEpoch(), r.getLogIndex());
            return containerReply(request.getContainerId());
        });
    }

    @Override
    public void stopContainer(StopContainerRequest request, StreamObserver<ContainerStatusReply> out) {
        answer(out, () -> {
            Container c = containerReply(request.getContainerId()).getContainer();
            CommandResult r = node.submit(Commands.setState(c.getId(), ContainerState.STOPPED, c.getEpoch()));
            awaitApplied(r);
            log.info("container stopped container={} epoch={} index={}", c.getId(), r.getEpoch(), r.getLogIndex());
            return containerReply(c.getId());
        });
    }

    @Override
    public void migrate(MigrateRequest request, StreamObserver<MigrateReply> out) {
        answer(out, () -> {
            requireNonBlank(request.getContainerId(), "container_id");
            requireNonBlank(request.getDestination(), "destination");
            String id = request.getMigrationId().isEmpty()
                    ? "mig-" + UUID.randomUUID().toString().substring(0, 8) : request.getMigrationId();
            String preCopy = request.getPreCopy().isEmpty() ? "off" : request.getPreCopy();
            PreCopyPlan.Mode.parse(preCopy); // a bad value is refused here, naming it
            CommandResult r = node.submit(Commands.startMigration(id, request.getContainerId(), "",
                    request.getDestination(), 0, MigrationOptions.newBuilder().setPostCopy(request.getPostCopy())
                            .setPreCopy(preCopy)
                            .setMaxDowntimeMs(request.getMaxDowntimeMs() == 0 ? 500 : request.getMaxDowntimeMs()).build()));
            awaitApplied(r);
            log.info("migration started migration={} container={} destination={} epoch={}", id,
                    request.getContainerId(), request.getDestination(), r.getEpoch());
            Migration m = node.read(s -> s.migration(id).orElseThrow());
            return MigrateReply.newBuilder().setMigration(m).build();
        });
    }

    @Override
    public void abortMigration(AbortMigrationRequest request, StreamObserver<MigrateReply> out) {
        answer(out, () -> {
            requireNonBlank(request.getMigrationId(), "migration_id");
            String reason = request.getReason().isEmpty() ? "aborted by operator" : request.getReason();
            // Epoch 0: an operator's abort is not fenced by the migration's token.
            CommandResult r = node.submit(Commands.abort(request.getMigrationId(), 0, reason));
            awaitApplied(r);
            log.info("migration aborted migration={} epoch={} reason={}", request.getMigrationId(), r.getEpoch(), reason);
            Migration m = node.read(s -> s.migration(request.getMigrationId()).orElseThrow());
            return MigrateReply.newBuilder().setMigration(m).build();
        });
    }

    @Override
    public void watchMigration(WatchMigrationRequest request, StreamObserver<MigrationProgress> out) {
        try {
            boolean known = node.read(s -> s.migration(request.getMigrationId()).isPresent());
            if (!known) {
                throw Status.NOT_FOUND.withDescription("no migration " + request.getMigrationId() + " known to agent "
                        + node.id() + "; see `agentctl ps` for running migrations").asRuntimeException();
            }
            MigrationWatch.start(node, request.getMigrationId(), out);
        } catch (RuntimeException e) {
            out.onError(ControlErrors.toStatus(node.id(), e, directory));
        }
    }

    @Override
    public void addMember(AddMemberRequest request, StreamObserver<ClusterStatusReply> out) {
        answer(out, () -> {
            requireNonBlank(request.getMemberId(), "member_id");
            requireNonBlank(request.getRaftAddress(), "raft_address");
            node.addPeer(new Peer(request.getMemberId(), request.getRaftAddress()));
            log.info("raft peer added member={} raft={}", request.getMemberId(), request.getRaftAddress());
            return status();
        });
    }

    @Override
    public void removeMember(RemoveMemberRequest request, StreamObserver<ClusterStatusReply> out) {
        answer(out, () -> {
            requireNonBlank(request.getMemberId(), "member_id");
            if (node.read(s -> s.member(request.getMemberId()).isPresent())) {
                awaitApplied(node.submit(Commands.removeMember(request.getMemberId())));
            }
            node.removePeer(request.getMemberId());
            log.info("raft peer removed member={}", request.getMemberId());
            return status();
        });
    }

    private void awaitApplied(CommandResult r) {
        if (!node.awaitApplied(r.getLogIndex(), APPLY_WAIT)) {
            throw Status.DEADLINE_EXCEEDED.withDescription("entry " + r.getLogIndex() + " is committed but agent "
                    + node.id() + " has not applied it within " + APPLY_WAIT.toSeconds() + " s; ask another agent")
                    .asRuntimeException();
        }
    }

    /**
     * Refuses a malformed spec, and a rootfs that is missing here when this agent is to run it
     * (another owner finds out itself: it logs the missing directory and retries).
     */
    private void requireRunnableHere(ContainerSpec spec, String owner) {
        ContainerSpecs.validate(spec);
        if (spec.getRootfs().isEmpty() || !owner.equals(node.id())) return;
        PreparedRootfs.problem(Path.of(spec.getRootfs())).ifPresent(problem -> {
            throw Status.FAILED_PRECONDITION.withDescription(problem + " [agent=" + node.id()
                    + "]: prepare it on every host first (e.g. scripts/build-openarena-rootfs.sh)").asRuntimeException();
        });
    }

    private static void requireNonBlank(String value, String field) {
        if (value.isBlank()) throw new IllegalArgumentException("request field " + field + " is empty");
    }

    private <T> void answer(StreamObserver<T> out, Supplier<T> call) {
        T reply;
        try {
            reply = call.get();
        } catch (RuntimeException e) {
            out.onError(ControlErrors.toStatus(node.id(), e, directory));
            return;
        }
        out.onNext(reply);
        out.onCompleted();
    }
}
