package org.migrationmesh.agent.migration;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import org.migrationmesh.agent.host.ContainerHost;
import org.migrationmesh.agent.runtime.CheckpointOptions;
import org.migrationmesh.agent.runtime.CheckpointResult;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.LazyCheckpoint;
import org.migrationmesh.agent.runtime.PagesFifo;
import org.migrationmesh.agent.runtime.RestoreOptions;
import org.migrationmesh.agent.runtime.Runc;
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
import org.migrationmesh.proto.cluster.MigrationReport;
import org.migrationmesh.proto.migration.MigrationPeerGrpc;
import org.migrationmesh.proto.migration.PeerCancelRequest;
import org.migrationmesh.proto.migration.PeerRestoreReply;
import org.migrationmesh.proto.migration.PeerPrepareRestoreRequest;
import org.migrationmesh.proto.migration.PeerRestoreRequest;
import org.migrationmesh.transfer.DeltaPlanner;
import org.migrationmesh.transfer.ImageReceiver;
import org.migrationmesh.transfer.ImageSender;
import org.migrationmesh.transfer.PagesFileFollower;
import org.migrationmesh.transfer.TransferListener;
import org.migrationmesh.transfer.TransferOptions;
import org.migrationmesh.transfer.TransferReport;
import org.migrationmesh.transfer.TransferRefusedException;
import org.migrationmesh.transfer.lazy.LazyPageRelayService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Drives the migrations whose source is this agent: FREEZE (dump, floating IP and CRIU's
 * network lock released here, images streamed to the destination), RESTORE (the destination
 * claims the IP and restores), COMMIT. With post-copy the dump leaves the memory behind and
 * serves it, through the agents' lazy-page relay, until the destination has pulled every
 * page; only then is COMMIT committed. Every phase is committed, with the
 * migration's epoch, before its effects run on the other side. Any failure before COMMIT
 * cancels the destination's work, restores the container here from its own images if it was
 * already dumped, and commits ABORT: the container keeps running where it was.
 */
public final class MigrationRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MigrationRunner.class);
    private static final Optional<HeapHeadroom> HEADROOM = HeapHeadroom.ofThisJvm();
    /** Sends of the final image when the destination refuses damaged chunks. */
    static final int SENDS_ON_CORRUPTION = 3;
    /** How long the destination waits for the final image after the restore was asked for. */
    static final Duration IMAGE_WAIT = Duration.ofMinutes(10);

    private final String self;
    private final ClusterNode node;
    private final ContainerHost host;
    private final LazyPageRelayService relay;
    private final ImageReceiver receiver;
    private final Path workRoot;
    private final Clock clock;
    private final Set<String> active = ConcurrentHashMap.newKeySet();
    private final PeerChannels peers = new PeerChannels();
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

    /**
     * @param receiver this agent's image receiver: the dump of a container leaving (not a lazy
     *                 one) becomes the container's parent image there, for a return trip
     */
    public MigrationRunner(String self, ClusterNode node, ContainerHost host, LazyPageRelayService relay,
                           ImageReceiver receiver, Path workRoot, Clock clock) {
        this.self = self;
        this.node = node;
        this.host = host;
        this.relay = relay;
        this.receiver = receiver;
        this.workRoot = workRoot;
        this.clock = clock;
        node.stateMachine().addListener(listener);
        workers.execute(this::scan);
    }

    /**
     * Starts every pending migration from this agent that is still in PREPARE; one that is past
     * PREPARE and not running here was cut short by a restart of this agent, and is undone.
     */
    private void scan() {
        List<Migration> mine = node.read(s -> s.migrations().values().stream()
                .filter(m -> m.getSource().equals(self) && m.getOutcome() == MigrationOutcome.OUTCOME_PENDING)
                .toList());
        for (Migration m : mine) {
            if (!active.add(m.getId())) continue;
            workers.execute(m.getPhase() == MigrationPhase.PREPARE ? () -> run(m) : () -> recover(m));
        }
    }

    /**
     * A migration this agent was driving when it stopped: nothing can tell how far its effects
     * got, so it is undone: the destination drops what it has, the container is restored here
     * from the dump if it is not running (a stop-and-copy dump that finished), and ABORT is
     * committed. The cluster then says, again, that the container is here.
     */
    private void recover(Migration m) {
        MDC.put("migration", m.getId());
        MDC.put("container", m.getContainerId());
        Path dir = workRoot.resolve(m.getId());
        Path images = dir.resolve("images");
        ManagedChannel channel = null;
        try {
            Container c = node.read(s -> s.container(m.getContainerId())).orElseThrow();
            String dest = node.read(s -> s.member(m.getDestination())).map(Member::getControlAddress).orElse("");
            if (!dest.isEmpty()) channel = peers.to(dest);
            boolean runningHere = host.runtime().runc().find(c.getId()).map(x -> x.running()).orElse(false);
            boolean haveDump = Files.isRegularFile(images.resolve("inventory.img")) && !m.getOptions().getPostCopy();
            log.warn("agent restarted during migration {} in {}; undoing it (container running here: {}, dump here: {})",
                    m.getId(), m.getPhase(), runningHere, haveDump);
            // Taking the floating IP back needs the lease, which the first committed heartbeat gives.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!host.floatingIps().lease().isHeld() && System.nanoTime() < deadline) Thread.sleep(100);
            abort(m, c, m.getEpoch(), !runningHere && haveDump, images, dir, channel,
                    new IllegalStateException("source agent " + self + " restarted during " + m.getPhase()));
        } catch (RuntimeException e) {
            log.error("could not undo migration {} after a restart: {}", m.getId(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            active.remove(m.getId());
            MDC.clear();
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
        LazyCheckpoint lazy = null;
        PagesFileFollower follower = null;
        CompletableFuture<Optional<PagesFifo>> pagesFifo = null;
        AutoCloseable registration = null;
        boolean dumped = false;
        CompletableFuture<? extends Future<PeerRestoreReply>> restoreAsked = null;
        CompletableFuture<long[]> frozenRound = null;
        CompletableFuture<CheckpointResult> dumping = null;
        CompletableFuture<Void> tmpfsArchived = null;
        long start = System.nanoTime();
        try {
            MigrationChecks.Verdict verdict = node.read(s -> MigrationChecks.check(m.getId(), c.getId(),
                    s.container(c.getId()), m.getDestination(), s::member, m.getOptions().getPostCopy(), s.clockMillis()));
            if (!verdict.go()) throw new IllegalStateException(verdict.refusals());
            ContainerState running = host.runtime().runc().find(c.getId()).filter(ContainerState::running)
                    .orElseThrow(() -> new IllegalStateException("container " + c.getId() + " is not running on " + self));
            Member dest = node.read(s -> s.member(m.getDestination())).orElseThrow();
            channel = peers.to(dest.getControlAddress());
            // Connect now: on a WAN the TCP and HTTP/2 handshakes are two round trips that would
            // otherwise fall inside the freeze of a stop-and-copy migration.
            channel.getState(true);
            // The destination writes its bundle and starts runc's part of the restore now, while the
            // container runs (its CRIU waits until the final image is complete): ~25 ms of runc out
            // of the downtime, and, on a machine the two hosts share, out of the dump's CPU too
            // (sent as the container froze, it lengthened CRIU's frozen time by 15-40 ms on the tour).
            // Not waited for; the restore does without it.
            prepareRestore(channel, m, c);

            // The final dump's pages image goes through a FIFO into pages allocated now, beside the rounds
            // (PagesFifo), not into a tmpfs file CRIU fills a fresh page at a time while the container is frozen.
            if (!m.getOptions().getPostCopy()) {
                pagesFifo = CompletableFuture.supplyAsync(() -> host.pagesFifo(running, images, dir.resolve("dump-work")), workers);
            }
            PreCopyRounds preCopy = new PreCopyRounds(m, c, host, new ImageSender(channel, clock), node);
            preCopy.run();

            // RESTORE (the destination may restore once its final image is complete) is committed
            // before the freeze too, not during it: across continents a commit is a round trip to a
            // leader that may be far from both agents, plus its apply at the destination, and measured
            // with the leader in Singapore it held restores to Strasbourg and Montreal back 100-190 ms
            // beyond the dump and the transfer. The container keeps running meanwhile. Safe as before:
            // the destination restores only from a complete final image, which exists only after the
            // dump, and it claims the address only once the restore is asked for, after the release here.
            // FREEZE and RESTORE go in order in one round trip to the leader: each round trip here is
            // time the container rewrites pages the final image then carries (~440 ms to the
            // freeze with two of them on a revisit to Montreal, the leader in Singapore).
            // The rounds' COPY entries went ahead of them, without waiting.
            // The destination takes this host's neighbour entries over before its restore (see
            // PeerRestoreRequest.neighbours); read while the commits travel, not in the freeze.
            CompletableFuture<List<org.migrationmesh.proto.migration.Neighbour>> neighbours =
                    CompletableFuture.supplyAsync(() -> host.neighboursOf(c), workers);
            node.submitInOrder(List.of(Commands.advance(m.getId(), MigrationPhase.FREEZE, token),
                    Commands.advance(m.getId(), MigrationPhase.RESTORE, token)));
            // A young collection left to come inside the freeze would stop this agent there: have it now.
            HEADROOM.flatMap(h -> h.ensure(HeapHeadroom.DOWNTIME_ROOM)).ifPresent(g -> log.info(
                    "young generation collected before the freeze migration={} edenFreeMiB={} ms={} collected={}", m.getId(),
                    g.freeBefore() >> 20, g.ms(), g.collected()));
            preCopy.awaitCommits();
            // CRIU locks the network only for a container with TCP sockets (see CriuConfig).
            boolean networkLocked = host.prepareDump(c.getId(), running.pid());
            // Its tmpfs mounts are archived from this host's view of them once the tasks are frozen: a
            // view an agent restarted since the container started lacks is made now.
            host.tmpfs().adopt(c.getId(), running.pid());
            long freeze = System.nanoTime();
            boolean postCopy = m.getOptions().getPostCopy();
            CheckpointResult dump = null;
            if (postCopy) {
                int pagePort = LazyCheckpoint.freePageServerPort();
                lazy = host.runtime().runc().startLazyCheckpoint(c.getId(),
                        CheckpointOptions.stopAndCopy(images, dir.resolve("dump-work")), "127.0.0.1:" + pagePort);
                lazy.awaitImagesWritten(Duration.ofMinutes(2));
                host.tmpfs().archive(c.getId(), images); // the tasks stay frozen until the pages are pulled
                if (!preCopy.roundBytes().isEmpty()) frozenRound = preCopy.startFrozenRound(workers);
                // The page server listens on this host's loopback; the destination reaches it only through the
                // relay, which pushes the lazy pages (read from the images' pagemaps) ahead of the faults.
                // Without dirty tracking the lazy dump keeps every private page back, also those the
                // pre-copy sent: the relay tells the destination which of them did not change since.
                registration = relay.register(m.getId(), new InetSocketAddress("127.0.0.1", pagePort), images,
                        preCopy.roundBytes().isEmpty() ? null : preCopy.sentPages());
                log.info("frozen and dumped (lazy) migration={} dumpMs={}", m.getId(), ms(System.nanoTime() - freeze));
            } else {
                // The final image goes out once CRIU says the images are complete ("post-dump"), while CRIU
                // ends the dumped tasks and exits and runc tears the container down.
                CompletableFuture<Void> frozenNow = new CompletableFuture<>();
                CompletableFuture<Void> written = new CompletableFuture<>();
                // The pages are digested as CRIU writes them: with 400 MB of memory the scan after the dump
                // went from 121 to 5 ms. For the game server's 20 MiB, on the tour's two cores, the follower's
                // reads and CRIU's writes share them: measured on one machine, CRIU frozen +4.3 ms and the client's
                // gap -1.3 ms (noise); on a slower one of the same kind, CRIU frozen +1.5 ms and the gap -13 ms.
                Optional<PagesFifo> pages = pagesFifo == null ? Optional.empty() : joined(pagesFifo);
                pages.ifPresent(p -> log.info("pages image through a FIFO migration={} {}", m.getId(), p.readiness()));
                follower = PagesFileFollower.start(images, pages.isEmpty() ? Map.of()
                        : Map.of(pages.get().imageName(), (java.util.function.LongSupplier) pages.get()::written));
                dumping = CompletableFuture.supplyAsync(() -> host.runtime().runc().checkpoint(c.getId(),
                        CheckpointOptions.stopAndCopy(images, dir.resolve("dump-work")).withTeardownBehind(!networkLocked),
                        () -> frozenNow.complete(null),
                        () -> written.complete(null)), workers);
                // The tmpfs mounts' content, which CRIU leaves to the agent (TmpfsMounts), goes into the
                // image as the tasks freeze, beside CRIU's dump; the host's mounts keep it after runc
                // has ended the tasks.
                tmpfsArchived = CompletableFuture.anyOf(frozenNow, written, dumping).thenRunAsync(() -> {
                    try {
                        host.tmpfs().archive(c.getId(), images);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, workers);
                if (!networkLocked) {
                    // Without TCP sockets nobody can see a reset: the address comes off this host as soon as
                    // the container is frozen (nothing in it answers any more; packets for an address no
                    // longer here are dropped), and the restore is asked for then, so that the destination
                    // claims and announces it while CRIU dumps, not while the image is on its way: measured,
                    // the `ip` calls of both ends took ~10-15 ms of CPU within the image's 50-70 ms on two cores.
                    CompletableFuture<CheckpointResult> dumpFailed = dumping;
                    ManagedChannel destination = channel;
                    restoreAsked = CompletableFuture.anyOf(frozenNow, written, dumpFailed).thenApplyAsync(
                            x -> releaseAndAskRestore(destination, m, c, images, false, neighbours, freeze), workers);
                }
                joined(CompletableFuture.anyOf(written, dumping));
                if (pages.isPresent()) log.info("pages image taken migration={} {}", m.getId(), pages.get().finish());
            }
            dumped = true;
            long dumpedAt = System.nanoTime();
            CompletableFuture<CheckpointResult> dumpReturned = dumping;
            if (dumpReturned != null && !dumpReturned.isDone()) {
                log.info("images written, final image going out migration={} dumpMs={}", m.getId(), ms(dumpedAt - freeze));
            }

            if (dumpReturned != null) {
                dumpReturned.thenAccept(d -> log.info("frozen and dumped migration={} dumpMs={} criuFreezingMs={}"
                        + " criuFrozenMs={}", m.getId(), ms(System.nanoTime() - freeze), d.stats().getFreezingTimeUs() / 1000,
                        d.stats().getFrozenTimeUs() / 1000));
            }

            // While the final image goes out (unless done as the container froze, above): once runc has
            // returned the dumped sockets are gone, so the address comes off this host (nothing here
            // may answer for it with a reset) and CRIU's lock, if it set one, is lifted (it would also
            // cut this agent's own traffic); then the restore is asked for. It starts there once the
            // image is complete and RESTORE applied: the request travels with the image, not a round
            // trip after it.
            if (restoreAsked == null) {
                boolean locked = networkLocked;
                ManagedChannel destination = channel;
                restoreAsked = CompletableFuture.supplyAsync(() -> {
                    if (dumpReturned != null) joined(dumpReturned);
                    return releaseAndAskRestore(destination, m, c, images, locked, neighbours, freeze);
                }, workers);
            }
            int[] resends = new int[1];
            TransferReport sent;
            try {
                // After pre-copy the destination holds nearly every page: the few left ride with the
                // Begin (one round trip). A stop-and-copy image goes as a stream, its compression
                // overlapping the link, rather than prepared whole before the Begin.
                if (tmpfsArchived != null) joined(tmpfsArchived); // part of the image
                sent = sendFinalImages(channel, m, images,
                        preCopy.roundBytes().isEmpty() ? null : preCopy.destinationHolds(), follower, resends);
            } catch (RuntimeException e) {
                // The cluster says RESTORE (committed before the freeze); the final images are FREEZE's.
                throw new StepFailed(MigrationPhase.FREEZE, e);
            }
            long sentAt = System.nanoTime();

            PeerRestoreReply restored = result(result(restoreAsked));
            // A destination that filled the memory after the tasks resumed answers once it is all in;
            // the container ran from earlier.
            long restoredAt = System.nanoTime() - restored.getRunningBeforeAnswerMicros() * 1000;
            long frozenRoundBytes = frozenRoundBytes(m, frozenRound);
            log.info("images sent and restored migration={} transferMs={} (scanMs={} planMs={} commitMs={})"
                            + " restoreAnswerMs={}", m.getId(), ms(sentAt - dumpedAt),
                    sent.scanning().toMillis(), sent.planning().toMillis(), sent.committing().toMillis(),
                    ms(restoredAt - sentAt));
            if (lazy != null) {
                // The source keeps its copy until every page has arrived; only then is COMMIT safe.
                dump = lazy.awaitCompletion(Duration.ofMinutes(5));
            } else {
                dump = joined(dumpReturned); // returned before the restore was asked for
            }
            long pagesAt = System.nanoTime();
            if (lazy == null) keepDumpAsParent(m, c, images);

            MigrationReport report = MigrationReport.newBuilder()
                    .setMode(mode(!preCopy.roundBytes().isEmpty(), postCopy))
                    .addAllPreCopyRoundBytes(preCopy.roundBytes())
                    .setCheckpointMs(ms(dumpedAt - freeze))
                    // CRIU's stats of a lazy dump hold no valid frozen time (seen: garbage); report none.
                    .setFrozenMs(postCopy ? 0 : dump.frozen().toMillis())
                    .setImageBytes(dump.imageBytes()).setWireBytes(sent.wireBytes() + frozenRoundBytes + preCopy.aheadBytes()).setTransferMs(ms(sentAt - dumpedAt))
                    .setIpClaimMs(restored.getIpClaimMicros() / 1000).setRestoreMs(restored.getRestoreMicros() / 1000)
                    .setDowntimeMs(ms(restoredAt - freeze)).setPagesPulledMs(ms(pagesAt - restoredAt))
                    .setTotalMs(ms(System.nanoTime() - start)).setDamagedChunkResends(resends[0]).build();
            node.submit(Commands.commit(m.getId(), token, report));
            log.info("migration committed migration={} container={} to={} mode={} preCopyRounds={} preCopyBytes={}"
                            + " checkpointMs={} imageBytes={} wireBytes={} transferMs={} ipClaimMs={} restoreMs={}"
                            + " downtimeMs={} pagesPulledMs={} totalMs={}",
                    m.getId(), c.getId(), m.getDestination(), report.getMode(), preCopy.roundBytes().size(),
                    preCopy.roundBytes().stream().mapToLong(Long::longValue).sum(), report.getCheckpointMs(),
                    report.getImageBytes(), report.getWireBytes(), report.getTransferMs(), report.getIpClaimMs(),
                    report.getRestoreMs(), report.getDowntimeMs(), report.getPagesPulledMs(), report.getTotalMs());
            host.releaseTmpfs(c.getId()); // the container's tmpfs mounts are the destination's now
            deleteTree(dir);
        } catch (Exception e) {
            if (dumping != null) {
                // runc may still be tearing the dumped container down: the undoing below restores it here
                try {
                    dumping.join();
                } catch (RuntimeException failed) {
                    // the failure is the migration's, or comes after the images were complete (dumped says which)
                }
            }
            if (restoreAsked != null) {
                // The address release has ended before anything is undone here (the undoing takes the
                // address back); then the destination stops waiting, or undoes its restore.
                try {
                    restoreAsked.join().cancel(true);
                } catch (RuntimeException released) {
                    // the release or the call failed: there is no call to cancel
                }
            }
            if (lazy != null) {
                // Killing CRIU's lazy dump resumes the container here, with its memory intact.
                lazy.abort();
            }
            abort(m, c, token, dumped && lazy == null, images, dir, channel, e);
            // A container that resumed here (lazy, or whose dump failed after its address came off as
            // it froze) takes its address back.
            boolean releasedUndumped = !dumped && restoreAsked != null;
            if ((lazy != null || releasedUndumped) && !c.getFloatingIp().isEmpty()) reclaim(c);
        } finally {
            closeQuietly(registration);
            if (follower != null) follower.close();
            if (pagesFifo != null) pagesFifo.thenAccept(p -> p.ifPresent(PagesFifo::close));
            if (lazy != null) lazy.close();
            active.remove(m.getId());
            MDC.clear();
        }
    }

    /**
     * The dump that took {@code c} away becomes its parent image here: should it come back, only
     * what changed since it left travels (the image it came with is older). A failure only costs
     * that saving. Before COMMIT, while the dump is surely here.
     */
    private void keepDumpAsParent(Migration m, Container c, Path images) {
        long t0 = System.nanoTime();
        try {
            long pages = receiver.keepDumpAsParent(c.getId(), images);
            log.info("kept this host's dump as the parent image of container {} migration={} pages={} ms={}", c.getId(),
                    m.getId(), pages, ms(System.nanoTime() - t0));
        } catch (RuntimeException e) {
            log.warn("could not keep the dump as the parent image of container {} migration={} reason={}", c.getId(),
                    m.getId(), e.getMessage());
        }
    }

    /** Bytes the frozen pre-copy round sent, once it ended; 0 if there was none or it failed (then the relay sends more). */
    private static long frozenRoundBytes(Migration m, CompletableFuture<long[]> frozenRound) {
        if (frozenRound == null) return 0;
        try {
            long[] r = frozenRound.join();
            log.info("frozen pre-copy round migration={} pages={} bytes={}", m.getId(), r[1], r[0]);
            return r[0];
        } catch (RuntimeException e) {
            log.warn("frozen pre-copy round failed, its pages go through the relay migration={} reason={}", m.getId(),
                    e.getMessage());
            return 0;
        }
    }

    /** The neighbour entries read before the freeze; none if reading them failed (the destination then asks ARP). */
    private static List<org.migrationmesh.proto.migration.Neighbour> neighboursOrNone(
            Migration m, CompletableFuture<List<org.migrationmesh.proto.migration.Neighbour>> read) {
        try {
            return read.join();
        } catch (RuntimeException e) {
            log.warn("could not read this host's neighbour entries; the destination will resolve its clients itself"
                    + " migration={} reason={}", m.getId(), e.getMessage());
            return List.of();
        }
    }

    /** How the migration moved the memory, as the report names it. */
    static String mode(boolean preCopied, boolean postCopy) {
        if (preCopied) return postCopy ? "pre+post-copy" : "pre-copy";
        return postCopy ? "post-copy" : "stop-and-copy";
    }

    /** As {@link #result} for a future that is joined, not waited on: its failure as it was thrown where it ran. */
    private static <T> T joined(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
    }

    /** The result of work done in the background (a command, a call), its failure as it was thrown there. */
    private static <T> T result(Future<T> f) throws InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * The final image, sent and resumed by the transfer; a chunk the destination refuses as
     * corrupt (its CRC or the file's digest did not match: damaged on the way) is sent again, from
     * the last chunk the destination verified, up to {@value #SENDS_ON_CORRUPTION} sends in all;
     * {@code resends[0]} says how many sends were repeated.
     */
    private TransferReport sendFinalImages(ManagedChannel channel, Migration m, Path images, DeltaPlanner.Holdings destinationHolds,
                                           PagesFileFollower follower, int[] resends) {
        ImageSender sender = new ImageSender(ChunkCorruption.around(channel, Failpoints.process()), clock);
        for (int send = 1; ; send++) {
            try {
                return sender.send(m.getId(), 1, images, TransferOptions.defaults(), TransferListener.NONE, destinationHolds,
                        follower);
            } catch (TransferRefusedException e) {
                boolean damaged = e.reason() == TransferRefusedException.Reason.CORRUPT_CHUNK
                        || e.reason() == TransferRefusedException.Reason.FILE_DIGEST_MISMATCH;
                if (!damaged || send >= SENDS_ON_CORRUPTION) throw e;
                resends[0] = send;
                log.warn("destination refused a damaged chunk, resending from its last verified chunk migration={}"
                        + " to={} send={} reason={}", m.getId(), m.getDestination(), send, e.getMessage());
            }
        }
    }

    /**
     * Takes the floating IP of {@code c} off this host, lifts CRIU's network lock if it set one,
     * and asks the destination for the restore, which waits there for the image; the call's future.
     */
    private Future<PeerRestoreReply> releaseAndAskRestore(ManagedChannel destination, Migration m, Container c, Path images,
                                                          boolean networkLocked,
                                                          CompletableFuture<List<org.migrationmesh.proto.migration.Neighbour>> neighbours,
                                                          long freeze) {
        long t0 = System.nanoTime();
        if (!c.getFloatingIp().isEmpty()) host.floatingIps().releaseUnfenced(host.address(c.getFloatingIp()));
        if (networkLocked) host.runtime().networkLock().remove(host.settings().netns());
        log.info("address released migration={} ms={} sinceFreezeMs={} networkLocked={}", m.getId(), ms(System.nanoTime() - t0),
                ms(System.nanoTime() - freeze), networkLocked);
        return MigrationPeerGrpc.newFutureStub(destination).withDeadlineAfter(IMAGE_WAIT.plusMinutes(2).toMillis(),
                TimeUnit.MILLISECONDS).restore(PeerRestoreRequest.newBuilder().setMigrationId(m.getId())
                .setAwaitImageMs((int) IMAGE_WAIT.toMillis()).setNoTcpSockets(!networkLocked)
                .addAllNeighbours(neighboursOrNone(m, neighbours)).setRuncDescriptors(runcDescriptors(images))
                .build());
    }

    /** Asks the destination to get ready for the restore (PrepareRestore), without waiting for its answer. */
    private void prepareRestore(ManagedChannel destination, Migration m, Container c) {
        Optional<byte[]> fds = host.runtime().runc().externalDescriptors(c.getId());
        if (fds.isEmpty()) return; // the destination starts runc once the image is there
        MigrationPeerGrpc.newFutureStub(destination).withDeadlineAfter(30, TimeUnit.SECONDS).prepareRestore(
                PeerPrepareRestoreRequest.newBuilder().setMigrationId(m.getId())
                        .setRuncDescriptors(ByteString.copyFrom(fds.get())).build());
    }

    /**
     * runc's descriptors.json in the dump's images (written by runc before CRIU started), for the
     * destination to start its restore ahead of the image; empty if it cannot be read.
     */
    static ByteString runcDescriptors(Path images) {
        try {
            return ByteString.copyFrom(Files.readAllBytes(images.resolve(Runc.DESCRIPTORS)));
        } catch (IOException e) {
            return ByteString.EMPTY;
        }
    }

    /** A failure of a step that belongs to another phase than the one the cluster shows. */
    private static final class StepFailed extends RuntimeException {
        final MigrationPhase phase;

        StepFailed(MigrationPhase phase, RuntimeException cause) {
            super(cause.getMessage(), cause);
            this.phase = phase;
        }
    }

    /** The failure as the cluster's abort reason says it: which phase, container, agents, and why. */
    private String reasonOf(Migration m, Container c, Exception cause) {
        if (cause instanceof StepFailed f) return reason(f.phase, c.getId(), self, m.getDestination(), (Exception) f.getCause());
        MigrationPhase phase = node.read(s -> s.migration(m.getId())).map(Migration::getPhase).orElse(m.getPhase());
        return reason(phase, c.getId(), self, m.getDestination(), cause);
    }

    /**
     * "PHASE of container C (SOURCE -> DEST) failed: why", where why is the gRPC status a peer
     * answered with, or the exception, plus its root cause when that adds something. Pure.
     */
    static String reason(MigrationPhase phase, String containerId, String source, String destination, Throwable cause) {
        String why = cause instanceof io.grpc.StatusRuntimeException sre
                ? sre.getStatus().getCode() + " from " + destination + ": " + sre.getStatus().getDescription()
                : cause.getClass().getSimpleName() + ": " + cause.getMessage();
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String rootText = root instanceof io.grpc.StatusRuntimeException rs ? rs.getStatus().getDescription() : root.getMessage();
        if (root != cause && rootText != null && !why.contains(rootText)) {
            why += " (" + root.getClass().getSimpleName() + ": " + rootText + ")";
        }
        return phase + " of container " + containerId + " (" + source + " -> " + destination + ") failed: " + why;
    }

    private void abort(Migration m, Container c, long token, boolean dumped, Path images, Path dir,
                       ManagedChannel channel, Exception cause) {
        long t0 = System.nanoTime();
        String reason = reasonOf(m, c, cause);
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
                host.claimFloatingIp(c);
                host.runtime().runc().restore(c.getId(), host.writeBundleToRollBack(c, images),
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
            log.info("migration aborted migration={} container={} restoredHere={} abortMs={}", m.getId(), c.getId(),
                    dumped, (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
            log.error("could not commit ABORT migration={} reason={}", m.getId(), e.getMessage());
        }
        deleteTree(dir);
    }

    private void reclaim(Container c) {
        try {
            host.claimFloatingIp(c);
        } catch (RuntimeException e) {
            log.error("could not take floating IP {} back container={} reason={}", c.getFloatingIp(), c.getId(), e.getMessage());
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception e) {
            log.warn("close failed: {}", e.toString());
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private static void deleteTree(Path root) {
        try {
            Images.delete(root);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", root, e.toString());
        }
    }

    @Override
    public void close() {
        node.stateMachine().removeListener(listener);
        workers.shutdownNow();
        peers.close();
    }
}
