package org.migrationmesh.agent.migration;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.grpc.ManagedChannel;
import org.migrationmesh.agent.host.ContainerHost;
import org.migrationmesh.agent.runtime.LazyPagesDaemon;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.RestoreOptions;
import org.migrationmesh.agent.runtime.RestoreResult;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;
import org.migrationmesh.proto.migration.MigrationPeerGrpc;
import org.migrationmesh.proto.migration.PeerCancelReply;
import org.migrationmesh.proto.migration.PeerCancelRequest;
import org.migrationmesh.proto.migration.PeerRestoreReply;
import org.migrationmesh.proto.migration.PeerRestoreRequest;
import org.migrationmesh.rpc.RpcEndpoints;
import org.migrationmesh.transfer.ImageReceiver;
import org.migrationmesh.transfer.lazy.LazyPageTunnel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The destination's side of a migration: restores the container from the images received for
 * it, with the floating IP claimed first (the restored sockets bind it), or undoes all of that
 * when the migration will not commit.
 */
public final class MigrationPeerService extends MigrationPeerGrpc.MigrationPeerImplBase {
    private static final Logger log = LoggerFactory.getLogger(MigrationPeerService.class);
    private static final Duration APPLY_WAIT = Duration.ofSeconds(10);

    private final String self;
    private final ClusterNode node;
    private final ContainerHost host;
    private final ImageReceiver receiver;
    private final Path workRoot;
    private final Map<String, Pulling> pulling = new ConcurrentHashMap<>();

    public MigrationPeerService(String self, ClusterNode node, ContainerHost host, ImageReceiver receiver, Path workRoot) {
        this.self = self;
        this.node = node;
        this.host = host;
        this.receiver = receiver;
        this.workRoot = workRoot;
    }

    @Override
    public void restore(PeerRestoreRequest req, StreamObserver<PeerRestoreReply> out) {
        try {
            if (!node.awaitApplied(req.getAppliedIndex(), APPLY_WAIT)) {
                throw Status.DEADLINE_EXCEEDED.withDescription("agent " + self + " has not applied index "
                        + req.getAppliedIndex() + " (RESTORE of " + req.getMigrationId() + ") within " + APPLY_WAIT)
                        .asRuntimeException();
            }
            Migration m = node.read(s -> s.migration(req.getMigrationId())).orElseThrow(() -> Status.NOT_FOUND
                    .withDescription("no migration " + req.getMigrationId() + " on agent " + self).asRuntimeException());
            if (!m.getDestination().equals(self) || m.getPhase() != MigrationPhase.RESTORE
                    || m.getOutcome() != MigrationOutcome.OUTCOME_PENDING) {
                throw Status.FAILED_PRECONDITION.withDescription("migration " + m.getId() + " is " + m.getPhase() + "/"
                        + m.getOutcome() + " to " + m.getDestination() + "; agent " + self + " restores only a pending"
                        + " migration to itself in RESTORE").asRuntimeException();
            }
            Container c = node.read(s -> s.container(m.getContainerId())).orElseThrow();
            Path images = receiver.publishedImage(m.getId()).orElseThrow(() -> Status.FAILED_PRECONDITION
                    .withDescription("agent " + self + " has received no complete image for migration " + m.getId())
                    .asRuntimeException());
            long t0 = System.nanoTime();
            if (!c.getFloatingIp().isEmpty()) {
                // The epoch COMMIT will give the address; the restored sockets bind it, so it comes
                // first, but quietly: announced now, clients would reach it before the sockets exist
                // and get resets.
                long ipEpoch = node.read(s -> s.ip(c.getFloatingIp()).map(ip -> ip.getEpoch()).orElse(0L)) + 1;
                host.floatingIps().claimQuietly(host.address(c.getFloatingIp()), ipEpoch);
            }
            long t1 = System.nanoTime();
            Path work = workRoot.resolve(m.getId()).resolve("restore-work");
            RestoreOptions options = RestoreOptions.of(images, work);
            if (m.getOptions().getPostCopy()) {
                startPulling(m, images, work);
                options = options.withLazyPages(true);
            }
            RestoreResult r = host.runtime().runc().restore(c.getId(), host.writeBundle(c), options);
            if (!c.getFloatingIp().isEmpty()) host.floatingIps().announce(host.address(c.getFloatingIp()));
            long t2 = System.nanoTime();
            log.info("restored migration={} container={} pid={} ipClaimMs={} restoreMs={}", m.getId(), c.getId(), r.pid(),
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
            out.onNext(PeerRestoreReply.newBuilder().setPid(r.pid()).setIpClaimMicros((t1 - t0) / 1000)
                    .setRestoreMicros((t2 - t1) / 1000).setCriuRestoreTimeUs(r.stats().getRestoreTimeUs()).build());
            out.onCompleted();
        } catch (io.grpc.StatusRuntimeException e) {
            out.onError(e);
        } catch (Exception e) {
            out.onError(Status.INTERNAL.withDescription("agent " + self + " could not restore for migration "
                    + req.getMigrationId() + ": " + e.getMessage()).asRuntimeException());
        }
    }

    /** A post-copy restore's page pulling: the relay to the source and CRIU's lazy-pages daemon. */
    private record Pulling(ManagedChannel channel, LazyPageTunnel tunnel, LazyPagesDaemon daemon) implements AutoCloseable {
        @Override
        public void close() {
            daemon.close();
            tunnel.close();
            channel.shutdownNow();
        }
    }

    /**
     * Starts pulling the pages of a post-copy migration from its source, through the agents'
     * relay; they keep arriving after the restore returns, and the pulling ends by itself when
     * the last page is in.
     */
    private void startPulling(Migration m, Path images, Path work) throws java.io.IOException {
        String source = node.read(s -> s.member(m.getSource())).map(x -> x.getControlAddress()).orElse("");
        if (source.isEmpty()) throw new IllegalStateException("source " + m.getSource() + " has no control address");
        ManagedChannel channel = RpcEndpoints.channel(source);
        LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), m.getId());
        LazyPagesDaemon daemon;
        try {
            daemon = LazyPagesDaemon.start(host.runtime().criu(), new ProcessCommandRunner(), m.getContainerId(), images,
                    work, "127.0.0.1", tunnel.port(), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            tunnel.close();
            channel.shutdownNow();
            throw e;
        }
        Pulling p = new Pulling(channel, tunnel, daemon);
        pulling.put(m.getId(), p);
        Thread t = new Thread(() -> {
            try {
                LazyPagesDaemon.Transferred moved = daemon.awaitCompletion(Duration.ofMinutes(10));
                log.info("all pages pulled migration={} pages={}/{} bytesViaRelay={} ms={}", m.getId(), moved.pages(),
                        moved.totalPages(), tunnel.bytesFromSource(), moved.elapsed().toMillis());
            } catch (RuntimeException e) {
                log.warn("page pulling failed migration={} reason={}", m.getId(), e.getMessage());
            } finally {
                pulling.remove(m.getId());
                p.close();
            }
        }, "lazy-pages-" + m.getId());
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void cancel(PeerCancelRequest req, StreamObserver<PeerCancelReply> out) {
        PeerCancelReply.Builder undone = PeerCancelReply.newBuilder();
        try {
            Pulling p = pulling.remove(req.getMigrationId());
            if (p != null) {
                p.close();
                undone.addUndone("stopped pulling pages");
            }
            Migration m = node.read(s -> s.migration(req.getMigrationId())).orElse(null);
            if (m != null && m.getOutcome() == MigrationOutcome.COMMITTED) {
                throw Status.FAILED_PRECONDITION.withDescription("migration " + m.getId() + " has committed; agent "
                        + self + " owns container " + m.getContainerId() + " now and keeps it").asRuntimeException();
            }
            if (m != null) {
                Container c = node.read(s -> s.container(m.getContainerId())).orElse(null);
                if (c != null && !c.getOwner().equals(self) && host.runtime().runc().find(c.getId()).isPresent()) {
                    host.runtime().runc().delete(c.getId(), true);
                    undone.addUndone("deleted the restored copy of " + c.getId());
                }
                if (c != null && !c.getFloatingIp().isEmpty() && host.floatingIps().held().contains(host.address(c.getFloatingIp()))) {
                    host.floatingIps().releaseUnfenced(host.address(c.getFloatingIp()));
                    undone.addUndone("released " + c.getFloatingIp());
                }
            }
            // A failed restore leaves CRIU's network lock in this namespace.
            for (String item : host.runtime().networkLock().remove(host.settings().netns())) undone.addUndone("removed " + item);
            receiver.discard(req.getMigrationId());
            undone.addUndone("discarded received images");
            log.info("migration cancelled here migration={} reason={} undone={}", req.getMigrationId(), req.getReason(),
                    undone.getUndoneList());
            out.onNext(undone.build());
            out.onCompleted();
        } catch (io.grpc.StatusRuntimeException e) {
            out.onError(e);
        } catch (RuntimeException e) {
            out.onError(Status.INTERNAL.withDescription("agent " + self + " could not undo migration "
                    + req.getMigrationId() + ": " + e.getMessage()).asRuntimeException());
        }
    }
}
