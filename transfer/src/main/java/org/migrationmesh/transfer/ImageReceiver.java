package org.migrationmesh.transfer;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.CommitRequest;
import org.migrationmesh.proto.transfer.CommitResponse;
import org.migrationmesh.proto.transfer.HeldPagesReply;
import org.migrationmesh.proto.transfer.HeldPagesRequest;
import org.migrationmesh.proto.transfer.HeldSpace;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.migrationmesh.proto.transfer.LivePages;
import org.migrationmesh.proto.transfer.LivePagesAck;
import org.migrationmesh.proto.transfer.PageDigests;
import org.migrationmesh.proto.transfer.PagesNeeded;
import org.migrationmesh.proto.transfer.PingReply;
import org.migrationmesh.proto.transfer.PingRequest;
import org.migrationmesh.proto.transfer.UploadAck;
import org.migrationmesh.transfer.TransferRefusedException.Reason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The gRPC service an agent runs to receive checkpoint images. Each migration gets a directory
 * under the root ({@code ROOT/<migration>/round-<n>} once published) and a {@link PageStore} that
 * later rounds are compared against; files are also kept by content ({@code ROOT/.content}), so
 * any file (or {@link BundleArchive bundle}) a host already received is linked, not sent again. A round is published by an atomic rename of its staging
 * directory, only after every file matched its digest (SHA-256, or {@link PageListDigest} with
 * every chunk CRC-checked where it lies for a planned pages file).
 */
public final class ImageReceiver extends ImageTransferGrpc.ImageTransferImplBase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ImageReceiver.class);
    private final Path root;
    private final ContentStore content;
    private final ParentImages parents;
    private final ConcurrentHashMap<String, MigrationImages> migrations = new ConcurrentHashMap<>();
    /** Migrations whose live pages are read back as each live round ends ({@link #readBackLivePagesAsTheyCome}). */
    private final java.util.Set<String> readingBack = ConcurrentHashMap.newKeySet();

    /** A receiver keeping every migration's images under {@code root}. */
    public ImageReceiver(Path root) {
        this.root = root;
        this.content = new ContentStore(root.resolve(".content"));
        this.parents = new ParentImages(root.resolve(".parents"));
    }

    /**
     * Keeps the pages held for a migration that ended here (the container restored) as the
     * parent image of {@code containerId}, which its next migration to this host starts from;
     * returns the pages kept (0 if this receiver has nothing of that migration).
     */
    public long keepAsParent(String migrationId, String containerId) {
        MigrationImages m = migrations.get(migrationId);
        return m == null ? 0 : parents.keep(containerId, m.fileStore());
    }

    /**
     * Keeps the pages of a dump this host made of {@code containerId} (its images directory) as
     * the container's parent image, replacing the one it came with: for the host a container
     * leaves, so that a return trip sends only what changed since it left. Returns the pages
     * kept (0 if no pagemap there lays out a pages file).
     */
    public long keepDumpAsParent(String containerId, Path images) {
        return parents.keepDump(containerId, images);
    }

    /** Containers whose parent image is kept here. */
    public java.util.List<String> parentImages() {
        return parents.containers();
    }

    /** Deletes the parent image kept of a container (one that is gone). */
    public void dropParentImage(String containerId) {
        parents.drop(containerId);
    }

    /** The pages held for a migration, e.g. to feed pages read live from its process. */
    public PageStore pageStore(String migrationId) {
        return migration(migrationId).store();
    }

    /**
     * Reads back the live files of migration {@code migrationId}, if it has pages here
     * ({@link PageStore#readBackLiveFiles}). Returns the pages read.
     */
    public int readBackLivePages(String migrationId) {
        MigrationImages m = migrations.get(migrationId);
        if (m == null) return 0;
        long t0 = System.nanoTime();
        int pages = m.store().readBackLiveFiles();
        if (pages > 0 && !TransferWarmUp.quiet(migrationId)) {
            log.info("live pages read back migration={} pages={} ms={}", migrationId, pages, (System.nanoTime() - t0) / 1_000_000);
        }
        return pages;
    }

    /**
     * From now on, the live pages of migration {@code migrationId} are read back as each live
     * round ends (after its answer), and those here already at once: for a migration whose final
     * image is a full one laid out from them (pre-copy, not post-copy), so that its check reads
     * back in the downtime only what the final image changed. The destination knows a round has
     * ended as soon as it has; across a continent it learns the source's freeze only later.
     */
    public void readBackLivePagesAsTheyCome(String migrationId) {
        readingBack.add(migrationId);
        readBackLivePages(migrationId);
    }

    /** The newest published image directory of a migration, if any. */
    public Optional<Path> publishedImage(String migrationId) {
        return migration(migrationId).published();
    }

    /** Forgets a migration and deletes everything received for it. */
    public void discard(String migrationId) {
        readingBack.remove(migrationId);
        MigrationImages m = migrations.remove(migrationId);
        if (m != null) m.discard();
    }

    @Override
    public void begin(BeginRequest req, StreamObserver<BeginResponse> out) {
        unary(out, req.getMigrationId(), req.getRound(), () -> {
            ImageManifest manifest;
            try {
                manifest = ImageManifest.fromProto(req.getManifest());
            } catch (IllegalArgumentException e) {
                Reason r = e.getMessage().startsWith("unsafe") ? Reason.BAD_NAME : Reason.BAD_MANIFEST;
                throw new TransferRefusedException(req.getMigrationId(), req.getRound(), r, null, e.getMessage(), e);
            }
            return migration(req.getMigrationId()).begin(req.getRound(), manifest, req.getSendId(), req.getChunksList(),
                    req.getPageDigestsList(), req.getPredictedPlansList(), req.getSpeculativeChunksList());
        });
    }

    @Override
    public void heldPages(HeldPagesRequest req, StreamObserver<HeldPagesReply> out) {
        unary(out, req.getMigrationId(), 0, () -> {
            ImageManifest.checkName(req.getContainerId());
            HeldPagesReply.Builder reply = HeldPagesReply.newBuilder();
            for (ParentImages.Seeded s : migration(req.getMigrationId()).seedFrom(parents, req.getContainerId())) {
                reply.setPages(reply.getPages() + s.vaddrs().length);
                if (!req.getDigests()) continue;
                HeldSpace.Builder space = HeldSpace.newBuilder().setSpace(s.space());
                PageRuns.Runs runs = PageRuns.of(s.vaddrs(), 0, s.vaddrs().length);
                space.addAllRunStarts(runs.startList()).addAllRunPages(runs.pageList());
                java.nio.ByteBuffer d = java.nio.ByteBuffer.allocate(s.digests().length * Integer.BYTES)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (long digest : s.digests()) d.putInt((int) digest);
                reply.addSpaces(space.setDigests32(com.google.protobuf.ByteString.copyFrom(d.array())));
            }
            return reply.build();
        });
    }

    @Override
    public void ping(PingRequest req, StreamObserver<PingReply> out) {
        out.onNext(PingReply.getDefaultInstance());
        out.onCompleted();
    }

    @Override
    public void planPages(PageDigests req, StreamObserver<PagesNeeded> out) {
        unary(out, req.getMigrationId(), req.getRound(), () -> {
            ReceiveSession s = existing(req.getMigrationId(), req.getRound()).session(req.getRound());
            synchronized (s) {
                return s.plan(req);
            }
        });
    }

    @Override
    public StreamObserver<Chunk> upload(StreamObserver<UploadAck> responses) {
        ServerCallStreamObserver<UploadAck> call = (ServerCallStreamObserver<UploadAck>) responses;
        call.disableAutoRequest();
        AtomicBoolean started = new AtomicBoolean();
        // Guard against spurious onReady: the first one asks for a chunk, each processed chunk asks for the next.
        call.setOnReadyHandler(() -> {
            if (started.compareAndSet(false, true)) call.request(1);
        });
        return new StreamObserver<>() {
            private boolean failed;
            private long chunks;
            private long bytes;
            private CommitResponse committed;

            @Override
            public void onNext(Chunk c) {
                if (failed) return;
                try {
                    if (committed != null) {
                        throw new TransferRefusedException(c.getMigrationId(), c.getRound(), Reason.OUT_OF_ORDER, null,
                                "a message after the commit");
                    }
                    MigrationImages m = existing(c.getMigrationId(), c.getRound());
                    ReceiveSession s = m.session(c.getRound());
                    if (c.hasCommit()) {
                        committed = commitAtEnd(m, s, c);
                    } else {
                        synchronized (s) {
                            bytes += s.accept(c);
                        }
                        chunks++;
                    }
                    call.request(1);
                } catch (TransferRefusedException e) {
                    failed = true;
                    log.debug("refused chunk: {}", e.getMessage());
                    responses.onError(Refusals.toStatus(e));
                } catch (IllegalArgumentException e) {
                    failed = true;
                    responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).withCause(e).asRuntimeException());
                } catch (RuntimeException e) {
                    failed = true;
                    responses.onError(Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
                }
            }

            @Override
            public void onError(Throwable t) {
                log.debug("upload stream broke after {} chunks: {}", chunks, t.toString());
            }

            @Override
            public void onCompleted() {
                if (failed) return;
                UploadAck.Builder ack = UploadAck.newBuilder().setChunks(chunks).setBytes(bytes);
                if (committed != null) ack.setCommitted(committed);
                responses.onNext(ack.build());
                responses.onCompleted();
            }
        };
    }

    /** The commit that ends an Upload: of the attempt its chunks belong to, for the same migration and round. */
    private static CommitResponse commitAtEnd(MigrationImages m, ReceiveSession s, Chunk c) {
        CommitRequest req = c.getCommit();
        if (!req.getMigrationId().equals(c.getMigrationId()) || req.getRound() != c.getRound()) {
            throw new TransferRefusedException(c.getMigrationId(), c.getRound(), Reason.BAD_MANIFEST, null,
                    "commit of " + req.getMigrationId() + " round " + req.getRound() + " in its upload");
        }
        synchronized (s) {
            s.checkAttempt(c.getAttempt(), null);
        }
        return m.commit(c.getRound(), req.getDigestsList());
    }

    @Override
    public void commit(CommitRequest req, StreamObserver<CommitResponse> out) {
        unary(out, req.getMigrationId(), req.getRound(), () -> existing(req.getMigrationId(), req.getRound()).commit(req.getRound(), req.getDigestsList()));
    }

    @Override
    public StreamObserver<LivePages> putLivePages(StreamObserver<LivePagesAck> responses) {
        return new StreamObserver<>() {
            private long pages;
            private boolean failed;
            /** Pages of the stream held here already, to be placed among those carried, by address. */
            private long[] held = new long[0];
            private int heldPlaced;
            private PageStore heldStore;
            /** The stream's migration, once its first message came. */
            private String migrationId;
            private String heldSpace;

            /**
             * Forgets each held run whose pages here are not those the sender's check names (it left them out
             * on a partial digest): they are then places to fill, and nothing takes these copies for the
             * process's pages (a lazy restore reads pages marked frozen without a check).
             */
            private void forgetRunsHeldOtherwise(LivePages lp) {
                if (lp.getHeldRunChecksCount() != lp.getHeldRunStartsCount()) {
                    throw new IllegalArgumentException(lp.getHeldRunChecksCount() + " checks for " + lp.getHeldRunStartsCount()
                            + " held runs of " + lp.getSpace());
                }
                long[] digests = new long[held.length];
                int forgotten = 0;
                for (int k = 0, first = 0; k < lp.getHeldRunStartsCount(); first += lp.getHeldRunPages(k), k++) {
                    int end = first + lp.getHeldRunPages(k);
                    boolean all = true;
                    for (int i = first; i < end && all; i++) {
                        java.util.OptionalLong d = heldStore.digestOf(new PageKey(heldSpace, held[i]));
                        all = d.isPresent();
                        if (all) digests[i] = d.getAsLong();
                    }
                    if (all && PageRuns.check(digests, first, end) == lp.getHeldRunChecks(k)) continue;
                    heldStore.forget(heldSpace, held, first, end);
                    forgotten += end - first;
                }
                if (forgotten > 0) {
                    log.info("held pages differ from the source's, forgotten migration={} space={} pages={}", lp.getMigrationId(),
                            heldSpace, forgotten);
                }
            }

            private static long[] ascending(long[] vaddrs, String what, String space) {
                for (int i = 1; i < vaddrs.length; i++) {
                    if (Long.compareUnsigned(vaddrs[i - 1], vaddrs[i]) >= 0) {
                        throw new IllegalArgumentException(what + " pages of " + space + " not in address order");
                    }
                }
                return vaddrs;
            }

            /** Places the held pages below {@code vaddr} (all of them for Long.MAX_VALUE) in the live file. */
            private void placeHeldBelow(long vaddr) {
                int to = heldPlaced;
                while (to < held.length && Long.compareUnsigned(held[to], vaddr) < 0) to++;
                if (to > heldPlaced) heldStore.putLiveHeld(heldSpace, held, heldPlaced, to);
                heldPlaced = to;
            }

            @Override
            public void onNext(LivePages lp) {
                if (failed) return;
                if (migrationId == null) migrationId = lp.getMigrationId();
                try {
                    if (lp.getHeldRunStartsCount() > 0 || lp.getHotRunStartsCount() > 0) {
                        if (heldStore != null) throw new IllegalArgumentException("held pages of " + lp.getSpace() + " sent twice");
                        held = ascending(PageRuns.expand(lp.getHeldRunStartsList(), lp.getHeldRunPagesList(), PageRuns.MAX_PAGES),
                                "held", lp.getSpace());
                        heldStore = migration(lp.getMigrationId()).store();
                        heldSpace = lp.getSpace();
                        if (lp.getHeldRunChecksCount() > 0) forgetRunsHeldOtherwise(lp);
                        // the places of pages left for the final image are kept as those of held ones are: with
                        // what this store holds there, if anything, to be overwritten by the final image
                        long[] hot = ascending(PageRuns.expand(lp.getHotRunStartsList(), lp.getHotRunPagesList(),
                                PageRuns.MAX_PAGES), "hot", lp.getSpace());
                        if (hot.length > 0) held = PageRuns.merge(held, hot);
                    }
                    long[] vaddrs = lp.getRunStartsCount() > 0
                            ? PageRuns.expand(lp.getRunStartsList(), lp.getRunPagesList(), PageRuns.MAX_PAGES)
                            : lp.getVaddrsList().stream().mapToLong(Long::longValue).toArray();
                    if (vaddrs.length == 0 && !lp.getFrozen()) return; // only held pages, placed as the stream goes on
                    if (lp.getFrozen()) {
                        if (!lp.getPages().isEmpty()) {
                            throw new IllegalArgumentException("the frozen mark of " + lp.getSpace() + " carries pages");
                        }
                        migration(lp.getMigrationId()).store().markFrozen(lp.getSpace(), vaddrs);
                        log.debug("frozen pages marked migration={} space={} pages={}", lp.getMigrationId(), lp.getSpace(),
                                vaddrs.length);
                        return;
                    }
                    byte[] bytes;
                    try {
                        bytes = ChunkCodec.decodePayload(lp.getCodec(), lp.getPages(), vaddrs.length * PageHash.PAGE_SIZE);
                    } catch (ChunkCodec.BadChunkException e) {
                        throw new IllegalArgumentException("live pages of " + lp.getSpace() + " for " + vaddrs.length
                                + " pages: " + e.getMessage(), e);
                    }
                    PageStore store = migration(lp.getMigrationId()).store();
                    boolean placing = heldPlaced < held.length;
                    if (placing && !lp.getSpace().equals(heldSpace)) {
                        throw new IllegalArgumentException("pages of " + lp.getSpace() + " in a stream of " + heldSpace);
                    }
                    for (int i = 0; i < vaddrs.length; i++) {
                        if (placing) placeHeldBelow(vaddrs[i]);
                        store.putLive(new PageKey(lp.getSpace(), vaddrs[i]), bytes, i * PageHash.PAGE_SIZE);
                    }
                    pages += vaddrs.length;
                } catch (IllegalArgumentException e) {
                    failed = true;
                    responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                }
            }

            @Override
            public void onError(Throwable t) {
                log.debug("live pages stream broke after {} pages: {}", pages, t.toString());
            }

            @Override
            public void onCompleted() {
                if (failed) return;
                try {
                    if (heldPlaced < held.length) placeHeldBelow(-1L); // the largest unsigned address: all the rest
                } catch (RuntimeException e) {
                    responses.onError(Status.INTERNAL.withDescription("held pages of " + heldSpace + " not placed: "
                            + e.getMessage()).asRuntimeException());
                    return;
                }
                responses.onNext(LivePagesAck.newBuilder().setPages(pages).build());
                responses.onCompleted();
                if (migrationId != null && readingBack.contains(migrationId)) {
                    try {
                        readBackLivePages(migrationId); // answered first: the source goes on meanwhile
                    } catch (RuntimeException e) {
                        log.debug("live pages not read back migration={} reason={}", migrationId, e.toString());
                    }
                }
            }
        };
    }

    private <T> void unary(StreamObserver<T> out, String migrationId, int round, Supplier<T> body) {
        T result;
        try {
            result = body.get();
        } catch (TransferRefusedException e) {
            out.onError(Refusals.toStatus(e));
            return;
        } catch (IllegalArgumentException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("migration " + migrationId + " round " + round + ": "
                    + e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            out.onError(Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }

    /** A migration that has begun a round here; never creates one (only Begin and the local API do). */
    private MigrationImages existing(String migrationId, int round) {
        MigrationImages m = migrations.get(migrationId);
        if (m == null) {
            throw new TransferRefusedException(migrationId, round, Reason.NO_SESSION, null, "no Begin for this migration");
        }
        return m;
    }

    private MigrationImages migration(String migrationId) {
        ImageManifest.checkName(migrationId);
        return migrations.computeIfAbsent(migrationId, id -> new MigrationImages(id, root.resolve(id), content));
    }

    @Override
    public void close() {
        migrations.values().forEach(MigrationImages::close);
        migrations.clear();
    }
}
