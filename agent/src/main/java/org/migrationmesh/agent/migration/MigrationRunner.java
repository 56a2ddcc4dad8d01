package org.migrationmesh.agent.migration;

import io.grpc.ManagedChannel;
import org.migrationmesh.agent.host.ContainerHost;
import org.migrationmesh.agent.runtime.CheckpointOptions;
import org.migrationmesh.agent.runtime.CheckpointResult;
import org.migrationmesh.agent.runtime.RestoreOptions;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.Commands;
import org.migrationmesh.cluster.MeshStateMachine;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.migration.MigrationPeerGrpc;
import org.migrationmesh.proto.migration.PeerCancelRequest;
import org.migrationmesh.proto.migration.PeerRestoreReply;
import org.migrationmesh.proto.migration.PeerRestoreRequest;
import org.migrationmesh.rpc.RpcEndpoints;
import org.migrationmesh.transfer.ImageSender;
import org.migrationmesh.transfer.TransferListener;
import org.migrationmesh.transfer.TransferOptions;
import org.migrationmesh.transfer.TransferReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Drives the migrations whose source is this agent, stop-and-copy: FREEZE (dump, floating IP
 * and CRIU's network lock released here, images streamed to the destination), RESTORE (the
 * destination claims the IP and restores), COMMIT. Every phase is committed, with the
 * migration's epoch, before its effects run on the other side. Any failure before COMMIT
 * cancels the destination's work, restores the container here from its own images if it was
 * already dumped, and commits ABORT: the container keeps running where it was.
 */
public final class MigrationRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MigrationRunner.class);

    private final String self;
    private final ClusterNode node;
    private final ContainerHost host;
    private final Path workRoot;
    private final Clock clock;
    private final Set<String> active = ConcurrentHashMap.newKeySet();
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "migration");
        t.setDaemon(true);
        return t;
    });
    private final MeshStateMachine.AppliedListener listener = new MeshStateMachine.AppliedListener() {
        @Override
        public void onApplied(long index, Command command, CommandResult result) {
            if (result.getApplied() && command.hasStartMigration()) workers.execute(MigrationRunner.this::scan);
        }

        @Override
        public void onReset(long index) {
            workers.execute(MigrationRunner.this::scan);
        }
    };

    public MigrationRunner(String self, ClusterNode node, ContainerHost host, Path workRoot, Clock clock) {
        this.self = self;
        this.node = node;
        this.host = host;
        this.workRoot = workRoot;
        this.clock = clock;
        node.stateMachine().addListener(listener);
        workers.execute(this::scan);
    }

    /** Starts every pending migration from this agent that is still in PREPARE and not running yet. */
    private void scan() {
        List<Migration> mine = node.read(s -> s.migrations().values().stream()
                .filter(m -> m.getSource().equals(self) && m.getOutcome() == MigrationOutcome.OUTCOME_PENDING
                        && m.getPhase() == MigrationPhase.PREPARE)
                .toList());
        for (Migration m : mine) {
            if (active.add(m.getId())) workers.execute(() -> run(m));
        }
    }

    private void run(Migration m) {
        MDC.put("migration", m.getId());
        MDC.put("container", m.getContainerId());
        MDC.put("epoch", Long.toString(m.getEpoch()));
        long token = m.getEpoch();
        Container c = node.read(s -> s.container(m.getContainerId())).orElseThrow();
        Path dir = workRoot.resolve(m.getId());
        Path images = dir.resolve("images");
        ManagedChannel channel = null;
        boolean dumped = false;
        long start = System.nanoTime();
        try {
            Member dest = node.read(s -> s.member(m.getDestination())).orElseThrow(() ->
                    new IllegalStateException("destination " + m.getDestination() + " is not a member"));
            if (dest.getCapabilities().getCriuVersion().isEmpty()) {
                throw new IllegalStateException("destination " + dest.getId() + " reported no container runtime (runc/CRIU)");
            }
            if (dest.getControlAddress().isEmpty()) {
                throw new IllegalStateException("destination " + dest.getId() + " has no control address");
            }
            channel = RpcEndpoints.channel(dest.getControlAddress());

            node.submit(Commands.advance(m.getId(), MigrationPhase.FREEZE, token));
            long freeze = System.nanoTime();
            CheckpointResult dump = host.runtime().runc().checkpoint(c.getId(),
                    CheckpointOptions.stopAndCopy(images, dir.resolve("dump-work")));
            dumped = true;
            // The dumped sockets are gone: take the address off this host (so nothing here answers for
            // it with a reset), then lift CRIU's lock, which would also cut this agent's own traffic.
            if (!c.getFloatingIp().isEmpty()) host.floatingIps().releaseUnfenced(host.address(c.getFloatingIp()));
            host.runtime().networkLock().remove(host.settings().netns());
            long dumpedAt = System.nanoTime();

            TransferReport sent = new ImageSender(channel, clock).send(m.getId(), 1, images, TransferOptions.defaults(),
                    TransferListener.NONE);
            long sentAt = System.nanoTime();

            CommandResult restorePhase = node.submit(Commands.advance(m.getId(), MigrationPhase.RESTORE, token));
            PeerRestoreReply restored = MigrationPeerGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES)
                    .restore(PeerRestoreRequest.newBuilder().setMigrationId(m.getId())
                            .setAppliedIndex(restorePhase.getLogIndex()).build());
            long restoredAt = System.nanoTime();

            node.submit(Commands.advance(m.getId(), MigrationPhase.COMMIT, token));
            long committedAt = System.nanoTime();
            log.info("migration committed migration={} container={} to={} checkpointMs={} frozenMs={} imageBytes={}"
                            + " wireBytes={} transferMs={} ipClaimMs={} restoreMs={} downtimeMs={} totalMs={}",
                    m.getId(), c.getId(), m.getDestination(), ms(dumpedAt - freeze), dump.frozen().toMillis(),
                    dump.imageBytes(), sent.wireBytes(), ms(sentAt - dumpedAt), restored.getIpClaimMicros() / 1000,
                    restored.getRestoreMicros() / 1000, ms(restoredAt - freeze), ms(committedAt - start));
            deleteTree(dir);
        } catch (Exception e) {
            abort(m, c, token, dumped, images, dir, channel, e);
        } finally {
            if (channel != null) channel.shutdownNow();
            active.remove(m.getId());
            MDC.clear();
        }
    }

    private void abort(Migration m, Container c, long token, boolean dumped, Path images, Path dir,
                       ManagedChannel channel, Exception cause) {
        String reason = cause.getClass().getSimpleName() + ": " + cause.getMessage();
        log.warn("migration failed, aborting migration={} container={} to={} reason={}", m.getId(), c.getId(),
                m.getDestination(), reason);
        if (channel != null) {
            try {
                MigrationPeerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .cancel(PeerCancelRequest.newBuilder().setMigrationId(m.getId()).setReason(reason).build());
            } catch (RuntimeException e) {
                log.warn("destination could not undo its part migration={} to={} reason={}", m.getId(),
                        m.getDestination(), e.getMessage());
            }
        }
        if (dumped) {
            try {
                if (!c.getFloatingIp().isEmpty()) {
                    long ipEpoch = node.read(s -> s.ip(c.getFloatingIp()).map(ip -> ip.getEpoch()).orElse(0L));
                    host.floatingIps().claim(host.address(c.getFloatingIp()), ipEpoch);
                }
                host.runtime().runc().restore(c.getId(), host.writeBundle(c),
                        RestoreOptions.of(images, dir.resolve("local-restore-work")));
                log.info("container restored on its source after the failed migration migration={} container={}",
                        m.getId(), c.getId());
            } catch (Exception e) {
                log.error("container could not be restored on its source migration={} container={} reason={};"
                        + " it will be started again from its bundle", m.getId(), c.getId(), e.getMessage());
            }
        }
        try {
            node.submit(Commands.abort(m.getId(), token, reason));
        } catch (RuntimeException e) {
            log.error("could not commit ABORT migration={} reason={}", m.getId(), e.getMessage());
        }
        deleteTree(dir);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            log.warn("could not remove {}: {}", root, e.toString());
        }
    }

    @Override
    public void close() {
        node.stateMachine().removeListener(listener);
        workers.shutdownNow();
    }
}
