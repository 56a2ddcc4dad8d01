package org.migrationmesh.agent.migration;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.grpc.ManagedChannel;
import org.migrationmesh.agent.host.ContainerHost;
import org.migrationmesh.agent.runtime.EarlyRestore;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.LazyPagesDaemon;
import org.migrationmesh.agent.runtime.PacketHold;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.RestoreOptions;
import org.migrationmesh.agent.runtime.RestoreResult;
import org.migrationmesh.agent.runtime.Runc;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.MeshStateMachine;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;
import org.migrationmesh.proto.migration.MigrationPeerGrpc;
import org.migrationmesh.proto.migration.PeerCancelReply;
import org.migrationmesh.proto.migration.PeerCancelRequest;
import org.migrationmesh.proto.migration.PeerPrepareRestoreReply;
import org.migrationmesh.proto.migration.PeerPrepareRestoreRequest;
import org.migrationmesh.proto.migration.PeerRestoreReply;
import org.migrationmesh.proto.migration.PeerRestoreRequest;
import org.migrationmesh.rpc.RpcEndpoints;
import org.migrationmesh.transfer.ImageReceiver;
import org.migrationmesh.transfer.lazy.LazyPageTunnel;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The destination's side of a migration: restores the container from the images received for
 * it, with the floating IP claimed first (the restored sockets bind it), or undoes all of that
 * when the migration will not commit.
 */
public final class MigrationPeerService extends MigrationPeerGrpc.MigrationPeerImplBase {
    private static final Logger log = LoggerFactory.getLogger(MigrationPeerService.class);
    private static final Duration APPLY_WAIT = Duration.ofSeconds(10);
    /** How long a restored container's memory may take to come in from the image after it resumed. */
    private static final Duration PAGES_IN_WAIT = Duration.ofMinutes(2);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String self;
    private final ClusterNode node;
    private final ContainerHost host;
    private final ImageReceiver receiver;
    private final Path workRoot;
    private final Map<String, Pulling> pulling = new ConcurrentHashMap<>();
    private final Map<String, Prepared> preparedRestores = new ConcurrentHashMap<>();
    /** Channels to the sources of pending post-copy migrations to this agent, by migration. */
    private final Map<String, ManagedChannel> sourceChannels = new ConcurrentHashMap<>();
    /** Runs what a restore needs besides its image (the bundle, an early claim) while the image is on its way. */
    private final ExecutorService ahead = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "restore-ahead");
        t.setDaemon(true);
        return t;
    });
    private final ExecutorService connecting = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "peer-connect");
        t.setDaemon(true);
        return t;
    });
    /** Pre-copy restores whose memory CRIU's lazy-pages daemon fills from the image after the tasks resume. */
    private final ImagePagesAfterResume pagesAfterResume;

    public MigrationPeerService(String self, ClusterNode node, ContainerHost host, ImageReceiver receiver, Path workRoot) {
        this.self = self;
        this.node = node;
        this.host = host;
        this.receiver = receiver;
        this.workRoot = workRoot;
        this.pagesAfterResume = new ImagePagesAfterResume(host.runtime().criu(), workRoot.resolveSibling("process-trees"), ahead);
        node.stateMachine().addListener(new MeshStateMachine.AppliedListener() {
            @Override
            public void onApplied(long index, Command command, CommandResult result) {
                if (result.getApplied() && (command.hasStartMigration() || command.hasAdvanceMigration()
                        || command.hasAbortMigration())) {
                    connecting.execute(MigrationPeerService.this::connectToSources);
                    connecting.execute(MigrationPeerService.this::dropEndedPreparations);
                }
                if (result.getApplied() && command.hasStartMigration()) {
                    String id = command.getStartMigration().getMigrationId();
                    ahead.execute(() -> {
                        readBackLivePages(id);
                        node.read(s -> s.migration(id)).filter(m -> m.getDestination().equals(self)
                                && m.getOutcome() == MigrationOutcome.OUTCOME_PENDING).ifPresent(m -> startPagesAhead(m));
                    });
                }
            }

            @Override
            public void onReset(long index) {
                connecting.execute(MigrationPeerService.this::connectToSources);
            }
        });
    }

    /**
     * Keeps a connected channel to the source of every pending post-copy migration to this
     * agent, made when the migration starts: the restore's lazy pages come over it, and on a
     * WAN a channel made at restore time would cost the TCP and HTTP/2 handshakes (two round
     * trips) while the restored process waits for its first pages. Channels of ended migrations
     * are closed.
     */
    private void connectToSources() {
        Map<String, String> sources = node.read(s -> {
            Map<String, String> out = new java.util.HashMap<>();
            for (Migration m : s.migrations().values()) {
                if (m.getDestination().equals(self) && m.getOutcome() == MigrationOutcome.OUTCOME_PENDING
                        && m.getOptions().getPostCopy()) {
                    s.member(m.getSource()).ifPresent(x -> out.put(m.getId(), x.getControlAddress()));
                }
            }
            return out;
        });
        sources.forEach((id, address) -> {
            if (!address.isEmpty()) sourceChannel(id, address);
        });
        sourceChannels.entrySet().removeIf(e -> {
            if (sources.containsKey(e.getKey())) return false;
            e.getValue().shutdownNow();
            return true;
        });
    }

    private ManagedChannel sourceChannel(String migrationId, String address) {
        return sourceChannels.computeIfAbsent(migrationId, id -> {
            ManagedChannel c = RpcEndpoints.channel(address);
            c.getState(true); // connect now
            return c;
        });
    }

    @Override
    public void restore(PeerRestoreRequest req, StreamObserver<PeerRestoreReply> out) {
        LazyPageTunnel earlyTunnel = null;
        boolean claimedEarly = false;
        Path bundle = null;
        boolean restored = false;
        long asked = System.nanoTime();
        long[] appliedAt = {0};
        CompletableFuture<Boolean> claimAhead = CompletableFuture.completedFuture(false);
        CompletableFuture<Integer> neighbours = CompletableFuture.completedFuture(0);
        Prepared prepared = null;
        EarlyRestore restoreAhead = null;
        LazyPagesDaemon fromImage = null;
        Path daemonImages = null; // where the daemon started ahead reads the image, if one was taken
        int prefetched = 0;
        String memory = "copied"; // how the restore put the memory in (the log says)
        try {
            // What needs no image is done while it is on its way, in the background: the bundle and
            // runc's part of the restore (see prepare; usually begun by PrepareRestore as the migration
            // started), and once RESTORE is applied, without TCP sockets (nobody can see a
            // reset), the address, claimed and announced, so that clients reach the copy the moment it
            // is restored. Not before RESTORE: an agent that dies holding the address would leave it in
            // its namespace beside the source's. Measured: bundle and claim one after the other, in the
            // wait after RESTORE was applied, held a restore back ~80 ms when the image came first.
            prepared = req.getAwaitImageMs() > 0 ? prepare(req.getMigrationId(), req.getRuncDescriptors()) : null;
            // The source's neighbour entries, at once: they only spare ARP round trips, whatever the outcome.
            neighbours = req.getNeighboursCount() == 0 ? CompletableFuture.completedFuture(0)
                    : ahead(req.getMigrationId(), c -> host.learnNeighbours(c, req.getNeighboursList())).whenComplete((n, e) -> {
                        if (e != null) log.warn("could not take the source's neighbour entries over; clients are resolved by ARP"
                                + " migration={} reason={}", req.getMigrationId(), e.getMessage());
                    });
            earlyTunnel = openTunnelEarly(req.getMigrationId());
            if (req.getAwaitImageMs() > 0) {
                CompletableFuture<Boolean>[] claiming = new CompletableFuture[] {claimAhead};
                try {
                    awaitRestorable(req.getMigrationId(), Duration.ofMillis(req.getAwaitImageMs()), m -> {
                        appliedAt[0] = System.nanoTime();
                        if (req.getNoTcpSockets()) claiming[0] = ahead(req.getMigrationId(), this::claimEarly);
                    });
                } finally {
                    claimAhead = claiming[0];
                }
                claimedEarly = claimed(claimAhead);
                if (prepared != null) {
                    bundle = prepared.bundle().handle((b, e) -> b).join(); // a failed one is written again below, with its error
                    restoreAhead = prepared.restore().handle((r, e) -> {
                        if (e != null) log.warn("could not start the restore ahead of the image; restoring after it"
                                + " migration={} reason={}", req.getMigrationId(), e.getMessage());
                        return r;
                    }).join();
                }
            } else if (!node.awaitApplied(req.getAppliedIndex(), APPLY_WAIT)) {
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
            if (!c.getFloatingIp().isEmpty() && !claimedEarly) {
                // The epoch COMMIT will give the address; the restored sockets bind it, so it comes
                // first, but quietly: announced now, clients would reach it before the sockets exist
                // and get resets.
                host.floatingIps().claimQuietly(host.address(c.getFloatingIp()), nextIpEpoch(c));
            }
            long t1 = System.nanoTime();
            Path work = restoreWork(m);
            RestoreOptions options = RestoreOptions.of(images, work);
            if (m.getOptions().getPostCopy()) {
                LazyPageTunnel tunnel = earlyTunnel != null ? earlyTunnel : openTunnel(m);
                earlyTunnel = null; // the pulling owns it now
                startPulling(m, images, work, tunnel);
                options = options.withLazyPages(true);
            }
            if (startPagesAhead(m)) {
                try {
                    ImagePagesAfterResume.Taken taken = pagesAfterResume.take(m.getId(), c.getId(), images, work);
                    fromImage = taken.daemon();
                    if (taken.startedAhead()) daemonImages = taken.images();
                    memory = taken.startedAhead() ? "after-resume-ahead" : "after-resume";
                    options = options.withLazyPages(true);
                } catch (RuntimeException e) {
                    // The restore begun ahead expects the daemon: it starts over, copying every page itself.
                    log.warn("no lazy-pages daemon; restoring with every page copied before the tasks run migration={}"
                            + " reason={}", m.getId(), e.getMessage());
                    if (restoreAhead != null) restoreAhead.close();
                    restoreAhead = null;
                }
            }
            long pulling = System.nanoTime();
            RestoreResult r;
            if (restoreAhead != null && imagesInto(m, images, restoreAhead)) {
                if (daemonImages != null) {
                    prefetched = pagesAfterResume.prefetch(c.getId(), images, java.util.List.of(daemonImages, restoreImages(m)));
                }
                host.tmpfs().fill(c.getId(), images); // mounted with the bundle, as the migration started
                restoreAhead.open();
                r = restoreAhead.await(host.runtime().runc().config().checkpointTimeout());
            } else {
                if (restoreAhead != null) restoreAhead.close(); // aborted: runc's part is done again below
                restoreAhead = null;
                Path restoreBundle = bundle != null ? bundle : writeBundle(c);
                host.tmpfs().fill(c.getId(), images);
                r = host.runtime().runc().restore(c.getId(), restoreBundle, options);
            }
            if (Context.current().isCancelled() || !pending(m.getId())) {
                // The source gave up while this restore ran (its final image failed, or it aborted):
                // its own copy resumes, so this one must not run on.
                undoRestore(c);
                throw Status.CANCELLED.withDescription("migration " + m.getId() + " was cancelled or aborted by its source "
                        + m.getSource() + " during the restore on " + self + "; the restored copy is removed").asRuntimeException();
            }
            if (!c.getFloatingIp().isEmpty() && !claimedEarly) host.floatingIps().announce(host.address(c.getFloatingIp()));
            restored = true;
            long t2 = System.nanoTime();
            if (fromImage != null) {
                awaitPagesIn(m, c, fromImage);
                LazyPagesDaemon served = fromImage;
                ahead.execute(() -> pagesAfterResume.rememberFaults(c.getId(), served.faultedPages()));
            }
            log.info("restored migration={} container={} pid={} restoreAppliedMs={} readyMs={} ipClaimMs={} restoreMs={}"
                            + " (lazyPagesDaemonMs={} runcMs={} runcAheadMs={} criuMs={}) neighboursLearned={} memory={} prefetched={}",
                    m.getId(), c.getId(),
                    r.pid(), appliedAt[0] == 0 ? -1 : (appliedAt[0] - asked) / 1_000_000, (t0 - asked) / 1_000_000,
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (pulling - t1) / 1_000_000, r.elapsed().toMillis(),
                    restoreAhead == null ? -1 : restoreAhead.aheadOfOpening().toMillis(), r.stats().getRestoreTimeUs() / 1000,
                    neighbours.handle((n, e) -> e == null && n != null ? n : 0).getNow(-1),
                    m.getOptions().getPostCopy() ? "post-copy" : memory, prefetched);
            pagesAfterResume.keepTree(c.getId(), images); // for its next restore here
            out.onNext(PeerRestoreReply.newBuilder().setPid(r.pid()).setIpClaimMicros((t1 - t0) / 1000)
                    .setRestoreMicros((t2 - t1) / 1000).setCriuRestoreTimeUs(r.stats().getRestoreTimeUs())
                    .setRunningBeforeAnswerMicros((System.nanoTime() - t2) / 1000).build());
            out.onCompleted();
        } catch (io.grpc.StatusRuntimeException e) {
            out.onError(e);
        } catch (Exception e) {
            out.onError(Status.INTERNAL.withDescription("agent " + self + " could not restore for migration "
                    + req.getMigrationId() + ": " + e.getMessage()).asRuntimeException());
        } finally {
            if (prepared != null) { // taken by this request: a restore whose gate did not open is aborted
                preparedRestores.remove(req.getMigrationId(), prepared);
                prepared.end(req.getMigrationId(), ahead);
            }
            if (earlyTunnel != null) earlyTunnel.close(); // the restore did not get as far as pulling pages
            if (fromImage != null) fromImage.close(); // (exited already, unless the restore failed)
            if (!restored && claimed(claimAhead)) releaseEarlyClaim(req.getMigrationId());
        }
    }

    @Override
    public void prepareRestore(PeerPrepareRestoreRequest req, StreamObserver<PeerPrepareRestoreReply> out) {
        Prepared p = prepare(req.getMigrationId(), req.getRuncDescriptors());
        out.onNext(PeerPrepareRestoreReply.newBuilder().setPrepared(p != null).build());
        out.onCompleted();
        readBackLivePages(req.getMigrationId()); // if START was not applied here yet
    }

    /**
     * A restore begun ahead of its image: the bundle written, runc started with CRIU held at the
     * gate (or null), and the packets to the container's floating IP held from its early claim
     * until the restored sockets take them (or empty).
     */
    private record Prepared(CompletableFuture<Path> bundle, CompletableFuture<EarlyRestore> restore,
                            CompletableFuture<Optional<PacketHold>> hold) {
        /**
         * Ends it, in the background: aborts a restore whose gate has not opened (runc takes ~50 ms
         * to give up), and lets the packets go.
         */
        void end(String migrationId, java.util.concurrent.Executor background) {
            restore.thenAcceptAsync(r -> {
                if (r != null) r.close();
            }, background);
            hold.thenAcceptAsync(h -> h.ifPresent(held -> {
                String account = held.release();
                if (account.startsWith("held=0 ")) log.debug("packets held migration={} {}", migrationId, account);
                else log.info("packets held migration={} {}", migrationId, account);
            }), background);
        }
    }

    /**
     * Begins, once per migration, what the restore of pending migration {@code migrationId} to
     * this agent can do before its image: writes the bundle and, given runc's descriptors (the
     * container's stdio as the source's runc recorded them), starts runc's part of the restore
     * (see {@link #startEarlyRestore}). Null for a migration that is not pending to this agent.
     * Asked by PrepareRestore as the migration starts, or by Restore itself; what a
     * migration that ends without a Restore began is aborted then ({@link #dropEndedPreparations}).
     */
    private Prepared prepare(String migrationId, ByteString descriptors) {
        return preparedRestores.computeIfAbsent(migrationId, id -> {
            Optional<Migration> m = node.read(s -> s.migration(id)).filter(x -> x.getDestination().equals(self)
                    && x.getOutcome() == MigrationOutcome.OUTCOME_PENDING);
            if (m.isEmpty()) return null;
            startPagesAhead(m.get()); // decided before runc starts: its restore is lazy or not
            CompletableFuture<Optional<PacketHold>> hold = ahead(id, c -> holdPackets(c, id))
                    .thenApply(h -> h == null ? Optional.<PacketHold>empty() : h);
            CompletableFuture<Path> bundle = ahead(id, this::writeBundle);
            CompletableFuture<EarlyRestore> restore = descriptors.isEmpty() ? CompletableFuture.completedFuture(null)
                    : bundle.thenApplyAsync(b -> b == null ? null : startEarlyRestore(m.get(), b, descriptors.toByteArray()), ahead);
            return new Prepared(bundle, restore, hold);
        });
    }

    /**
     * Holds the packets to {@code c}'s floating IP here from now until the restore of migration
     * {@code migrationId} ends, each until a restored socket takes it ({@link ContainerHost#holdPackets}):
     * the address comes here before the restore has made its sockets (the early claim). A hold that
     * cannot start costs only the packets sent in that window, as without it.
     */
    private Optional<PacketHold> holdPackets(Container c, String migrationId) {
        try {
            return host.holdPackets(c, migrationId, workRoot.resolveSibling("packet-holds"));
        } catch (IOException | RuntimeException e) {
            log.warn("could not hold the packets to the container's address during its restore; those sent before its"
                    + " sockets exist are lost migration={} container={} reason={}", migrationId, c.getId(), e.getMessage());
            return Optional.empty();
        }
    }

    /** Aborts the restores begun ahead of migrations that ended without one (the source gave up, or died). */
    private void dropEndedPreparations() {
        pagesAfterResume.retain(this::pending);
        preparedRestores.entrySet().removeIf(e -> {
            boolean pending = node.read(s -> s.migration(e.getKey()))
                    .map(m -> m.getOutcome() == MigrationOutcome.OUTCOME_PENDING).orElse(false);
            if (!pending) e.getValue().end(e.getKey(), ahead);
            return !pending;
        });
    }

    /** Where the restore of migration {@code m} keeps its work files (runc's and CRIU's logs). */
    private Path restoreWork(Migration m) {
        return workRoot.resolve(m.getId()).resolve("restore-work");
    }

    /** The directory an early restore's runc opened, which the image is linked into ({@link #imagesInto}). */
    private Path restoreImages(Migration m) {
        return workRoot.resolve(m.getId()).resolve("restore-images");
    }

    /**
     * Starts runc's part of restoring {@code m}'s container into {@code bundle} now, its CRIU
     * held until {@link EarlyRestore#open()}, from a directory that holds only runc's
     * {@code descriptors.json} (the source runc's record, sent with PrepareRestore or the
     * restore request) until {@link #imagesInto} puts the image there.
     */
    private EarlyRestore startEarlyRestore(Migration m, Path bundle, byte[] descriptors) {
        Path images = restoreImages(m);
        try {
            Images.delete(images); // left by an earlier request for this migration
            Files.createDirectories(images);
            Files.write(images.resolve(Runc.DESCRIPTORS), descriptors);
        } catch (IOException e) {
            throw new UncheckedIOException("preparing " + images, e);
        }
        RestoreOptions options = RestoreOptions.of(images, restoreWork(m))
                .withLazyPages(m.getOptions().getPostCopy() || pagesAfterResume.lazy(m.getId()));
        return host.runtime().runc().startEarlyRestore(m.getContainerId(), bundle, options,
                workRoot.resolve(m.getId()).resolve("restore-gate"));
    }

    /**
     * Links every file of the published image {@code published} into the directory the early
     * restore's runc opened; false (the restore then starts over, from {@code published}) if that
     * fails or the image's descriptors.json is not the one runc read.
     */
    private boolean imagesInto(Migration m, Path published, EarlyRestore restore) {
        Path images = restoreImages(m);
        try {
            if (!sameDescriptors(Files.readAllBytes(published.resolve(Runc.DESCRIPTORS)),
                    Files.readAllBytes(images.resolve(Runc.DESCRIPTORS)))) {
                log.warn("the image's runc descriptors differ from those the restore was started with; restoring"
                        + " again migration={}", m.getId());
                return false;
            }
            Images.link(published, images, java.util.Set.of(Runc.DESCRIPTORS));
            return !restore.isDone(); // a runc that failed already restores nothing
        } catch (IOException e) {
            log.warn("could not put the image where the early restore reads it; restoring again migration={} reason={}",
                    m.getId(), e.getMessage());
            return false;
        }
    }

    /** Whether two runc descriptors files name the same descriptors (JSON arrays of strings). */
    static boolean sameDescriptors(byte[] a, byte[] b) {
        try {
            return JSON.readTree(a).equals(JSON.readTree(b));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Claims and announces the floating IP of container {@code c} here ahead of its restore: its
     * source released it right after the dump. Returns whether there was one.
     */
    private boolean claimEarly(Container c) {
        if (c.getFloatingIp().isEmpty()) return false;
        host.floatingIps().claim(host.address(c.getFloatingIp()), nextIpEpoch(c));
        return true;
    }

    /** The epoch that COMMIT will give {@code c}'s floating IP: a claim ahead of it is fenced by that. */
    private long nextIpEpoch(Container c) {
        return node.read(s -> s.ip(c.getFloatingIp()).map(ip -> ip.getEpoch()).orElse(0L)) + 1;
    }

    /** Releases {@code c}'s floating IP if this host holds it (a claim whose migration will not commit); whether it did. */
    private boolean releaseIfHeld(Container c) {
        if (c.getFloatingIp().isEmpty() || !host.floatingIps().held().contains(host.address(c.getFloatingIp()))) return false;
        host.floatingIps().releaseUnfenced(host.address(c.getFloatingIp()));
        return true;
    }

    /** Whether a claim ahead of the restore took the address (waits for it). */
    private static boolean claimed(CompletableFuture<Boolean> claim) {
        return Boolean.TRUE.equals(claim.handle((b, e) -> e == null ? b : Boolean.FALSE).join());
    }

    /**
     * {@code step} for the container a pending migration to this agent moves, in the background
     * (null for another migration). A claim that fails costs the early announcement only: the
     * restore claims the address itself.
     */
    private <T> CompletableFuture<T> ahead(String migrationId, java.util.function.Function<Container, T> step) {
        Optional<Container> c = node.read(s -> s.migration(migrationId)
                .filter(m -> m.getDestination().equals(self) && m.getOutcome() == MigrationOutcome.OUTCOME_PENDING)
                .flatMap(m -> s.container(m.getContainerId())));
        return c.isEmpty() ? CompletableFuture.completedFuture(null)
                : CompletableFuture.supplyAsync(() -> step.apply(c.get()), ahead);
    }

    private Path writeBundle(Container c) {
        try {
            return host.writeBundle(c);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the bundle of " + c.getId() + " on " + self, e);
        }
    }

    /** Gives up an address claimed ahead of a restore that did not happen (the source takes it back). */
    private void releaseEarlyClaim(String migrationId) {
        node.read(s -> s.migration(migrationId)).flatMap(m -> node.read(s -> s.container(m.getContainerId())))
                .filter(c -> !c.getOwner().equals(self)).ifPresent(this::releaseIfHeld);
    }

    /**
     * Decides, once per migration, whether the restore of {@code m} here runs the tasks before
     * their memory, which CRIU's lazy-pages daemon then fills from the image, and starts the
     * daemon if so ({@link ImagePagesAfterResume}): a pre-copy (or stop-and-copy) migration of a
     * container this host restored before, where its configuration allows and CRIU has
     * userfaultfd. Returns the decision.
     */
    private boolean startPagesAhead(Migration m) {
        return !m.getOptions().getPostCopy() && host.settings().lazyRestore() && host.runtime().capabilities().getLazyPages()
                && pagesAfterResume.startAhead(m.getId(), m.getContainerId(), workRoot.resolve(m.getId()).resolve("lazy-images"),
                restoreWork(m));
    }

    /**
     * Waits until the lazy-pages daemon has put every page of restored container {@code c} in;
     * if it fails, the copy cannot run on (its memory is incomplete): it is removed, and the
     * restore fails, so that the source resumes its own.
     */
    private void awaitPagesIn(Migration m, Container c, LazyPagesDaemon daemon) {
        try {
            LazyPagesDaemon.Transferred in = daemon.awaitCompletion(PAGES_IN_WAIT);
            log.info("pages in after resume migration={} pages={}/{} ms={}", m.getId(), in.pages(), in.totalPages(),
                    in.elapsed().toMillis());
        } catch (RuntimeException e) {
            undoRestore(c);
            throw Status.INTERNAL.withDescription("agent " + self + " restored " + c.getId() + " for migration " + m.getId()
                    + " but could not fill its memory from the image after it resumed (" + e.getMessage()
                    + "); the restored copy is removed").asRuntimeException();
        }
    }

    /**
     * A migration to this agent that is not post-copy has its live pages read back as each live
     * round ends, while the container still runs at its source, so that the check of its final
     * image reads back only the pages the final image changes: on the tour, ~20 MiB read in 4-6 ms
     * of the downtime before. Not once RESTORE is applied: across a continent this agent learns it
     * after the source has frozen. Not for post-copy: a lazy dump's pages file holds a few pages,
     * and the live file stays the restore's store of pages. Also asked for by PrepareRestore,
     * which may come first.
     */
    private void readBackLivePages(String migrationId) {
        boolean here = node.read(s -> s.migration(migrationId))
                .map(m -> m.getDestination().equals(self) && !m.getOptions().getPostCopy()
                        && m.getOutcome() == MigrationOutcome.OUTCOME_PENDING).orElse(false);
        if (!here) return; // (also START entries replayed at a restart, of migrations long ended)
        try {
            receiver.readBackLivePagesAsTheyCome(migrationId);
        } catch (RuntimeException e) {
            // the final image's check reads them then
            log.debug("live pages not read back migration={} reason={}", migrationId, e.toString());
        }
    }

    /**
     * Waits until this agent has applied RESTORE of the migration and holds its published final
     * image: the source asks for the restore while the image is still on its way.
     * {@code onRestoreApplied} runs once, as soon as RESTORE is applied here.
     */
    private void awaitRestorable(String migrationId, Duration timeout, java.util.function.Consumer<Migration> onRestoreApplied) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean applied = false;
        while (true) {
            if (Context.current().isCancelled()) {
                throw Status.CANCELLED.withDescription("the source cancelled the restore of migration " + migrationId
                        + " before its final image was complete on " + self).asRuntimeException();
            }
            Optional<Migration> m = node.read(s -> s.migration(migrationId));
            if (m.isPresent() && m.get().getOutcome() != MigrationOutcome.OUTCOME_PENDING) {
                throw Status.FAILED_PRECONDITION.withDescription("migration " + migrationId + " ended (" + m.get().getOutcome()
                        + ") before agent " + self + " could restore it").asRuntimeException();
            }
            if (m.isPresent() && m.get().getPhase() == MigrationPhase.RESTORE && !applied) {
                applied = true;
                onRestoreApplied.accept(m.get());
            }
            if (applied && receiver.publishedImage(migrationId).isPresent()) return;
            if (System.nanoTime() > deadline) {
                throw Status.DEADLINE_EXCEEDED.withDescription("agent " + self + " has not both applied RESTORE of migration "
                        + migrationId + " and received its final image within " + timeout
                        + " (phase here: " + m.map(Migration::getPhase).map(Object::toString).orElse("unknown") + ", image "
                        + (receiver.publishedImage(migrationId).isPresent() ? "complete" : "incomplete") + ")").asRuntimeException();
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    private boolean pending(String migrationId) {
        return node.read(s -> s.migration(migrationId)).map(x -> x.getOutcome() == MigrationOutcome.OUTCOME_PENDING).orElse(false);
    }

    /** Removes a copy restored for a migration that will not commit, and its floating IP. */
    private void undoRestore(Container c) {
        try {
            host.runtime().runc().delete(c.getId(), true);
        } catch (RuntimeException e) {
            log.warn("could not remove the restored copy of {} after its migration was cancelled: {}", c.getId(), e.getMessage());
        }
        host.releaseTmpfs(c.getId());
        releaseIfHeld(c);
    }

    /**
     * For a post-copy migration to this agent, the tunnel for its lazy pages, opened as the
     * restore is asked for, while the final image may still be on its way: the relay call to the
     * source starts now, and what the source pushes first (digests of the pages the pre-copy
     * sent) is here before the restore faults. Null for other migrations.
     */
    private LazyPageTunnel openTunnelEarly(String migrationId) throws IOException {
        Migration m = node.read(s -> s.migration(migrationId)).orElse(null);
        if (m == null || !m.getOptions().getPostCopy() || !m.getDestination().equals(self)
                || m.getOutcome() != MigrationOutcome.OUTCOME_PENDING) {
            return null;
        }
        LazyPageTunnel tunnel = openTunnel(m);
        tunnel.connectNow(); // the source registered its page server before asking for the restore
        return tunnel;
    }

    private LazyPageTunnel openTunnel(Migration m) throws IOException {
        String source = node.read(s -> s.member(m.getSource())).map(x -> x.getControlAddress()).orElse("");
        if (source.isEmpty()) throw new IllegalStateException("source " + m.getSource() + " has no control address");
        ManagedChannel channel = sourceChannel(m.getId(), source); // closed when the migration ends
        // Pages the pre-copy sent here and the source says did not change are answered from this store.
        return LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), m.getId(), LazyPageTunnel.DEFAULT_CACHE_BYTES,
                receiver.pageStore(m.getId()));
    }

    /** A post-copy restore's page pulling: the relay to the source and CRIU's lazy-pages daemon. */
    private record Pulling(LazyPageTunnel tunnel, LazyPagesDaemon daemon) implements AutoCloseable {
        @Override
        public void close() {
            daemon.close();
            tunnel.close();
        }
    }

    /**
     * Starts pulling the pages of a post-copy migration from its source, through the agents'
     * relay; they keep arriving after the restore returns, and the pulling ends by itself when
     * the last page is in.
     */
    private void startPulling(Migration m, Path images, Path work, LazyPageTunnel tunnel) {
        LazyPagesDaemon daemon;
        try {
            daemon = LazyPagesDaemon.start(host.runtime().criu(), new ProcessCommandRunner(), m.getContainerId(), images,
                    work, "127.0.0.1", tunnel.port(), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            tunnel.close();
            throw e;
        }
        Pulling p = new Pulling(tunnel, daemon);
        pulling.put(m.getId(), p);
        Thread t = new Thread(() -> {
            try {
                LazyPagesDaemon.Transferred moved = daemon.awaitCompletion(Duration.ofMinutes(10));
                log.info("all pages pulled migration={} pages={}/{} bytesViaRelay={} pagesFromPreCopy={} ms={}", m.getId(),
                        moved.pages(), moved.totalPages(), tunnel.bytesFromSource(), tunnel.pagesFromPreCopy(),
                        moved.elapsed().toMillis());
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
            pagesAfterResume.drop(req.getMigrationId());
            Prepared begun = preparedRestores.remove(req.getMigrationId());
            if (begun != null) {
                begun.end(req.getMigrationId(), ahead);
                undone.addUndone("aborted the restore begun ahead of the image");
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
                if (c != null && releaseIfHeld(c)) undone.addUndone("released " + c.getFloatingIp());
                if (c != null && !c.getOwner().equals(self) && host.runtime().runc().find(c.getId()).isEmpty()) {
                    host.releaseTmpfs(c.getId()); // made for the restore, with its bundle
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
