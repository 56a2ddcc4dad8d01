package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.CommitRequest;
import org.migrationmesh.proto.transfer.CommitResponse;
import org.migrationmesh.proto.transfer.FileDigest;
import org.migrationmesh.proto.transfer.FileState;
import org.migrationmesh.proto.transfer.HeldPagesReply;
import org.migrationmesh.proto.transfer.HeldPagesRequest;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.migrationmesh.proto.transfer.LivePages;
import org.migrationmesh.proto.transfer.LivePagesAck;
import org.migrationmesh.proto.transfer.PagesNeeded;
import org.migrationmesh.proto.transfer.PingRequest;
import org.migrationmesh.proto.transfer.UploadAck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Sends one round of a migration's checkpoint image to a peer's {@link ImageReceiver}: scans the
 * directory, lets the receiver say what it already has and which pages it lacks (in the Begin,
 * {@link PagePlanning}), streams the rest as checked chunks (zero, unchanged and repeated pages
 * not as bytes; zstd where it pays off) and commits at the end of the same stream: two round
 * trips when the pagemaps and page digests fit in the Begin, as in the final round after
 * pre-copy. A broken stream is resumed from the last verified chunk, up to
 * {@link TransferOptions#maxAttempts()} attempts.
 */
public final class ImageSender {
    private static final Logger log = LoggerFactory.getLogger(ImageSender.class);
    /** Page digests per PlanPages message (2 MiB), well under the message size limit. */
    static final int DIGESTS_PER_MESSAGE = 256 * 1024;
    private final ImageTransferGrpc.ImageTransferStub asyncStub;
    private final ImageTransferGrpc.ImageTransferBlockingStub blockingStub;
    private final Clock clock;
    private int digestsPerMessage = DIGESTS_PER_MESSAGE;
    private int beginBudget = PagePlanning.BEGIN_BUDGET;
    private int speculationBudget = SPECULATION_BUDGET;

    /** A sender over {@code channel} (from {@code RpcEndpoints.channel}); {@code clock} times the report. */
    public ImageSender(Channel channel, Clock clock) {
        this.asyncStub = ImageTransferGrpc.newStub(channel).withOnReadyThreshold(2 * ChunkCodec.MAX_CHUNK_BYTES);
        this.blockingStub = ImageTransferGrpc.newBlockingStub(channel);
        this.clock = clock;
    }

    /** For tests: smaller digest slices, to plan a small image in several PlanPages calls. */
    ImageSender digestsPerMessage(int n) {
        this.digestsPerMessage = n;
        return this;
    }

    /** For tests: fewer bytes of pagemaps and page digests riding along with Begin, to plan the rest with PlanPages. */
    ImageSender beginBudget(int bytes) {
        this.beginBudget = bytes;
        return this;
    }

    /** For tests: a smaller upload that may ride with a Begin. */
    ImageSender speculationBudget(int bytes) {
        this.speculationBudget = bytes;
        return this;
    }

    /** Sends round {@code round} of {@code migrationId} from {@code imageDir}; returns its figures once published. */
    public TransferReport send(String migrationId, int round, Path imageDir, TransferOptions options, TransferListener listener) {
        return send(migrationId, round, imageDir, options, listener, null);
    }

    /**
     * As {@link #send(String, int, Path, TransferOptions, TransferListener)}, for a sender that
     * knows which pages the receiver holds ({@code receiverHolds}: it sent them, e.g. in pre-copy
     * rounds; null if it does not know): the first attempt then plans the pages itself and sends
     * the whole round, commit included, with the Begin, so a receiver that holds at least what
     * the sender counted on publishes it in one round trip (pages it held already cost bytes,
     * nothing more). A receiver that lacks a page counted as held answers as usual, and the round
     * goes on in two.
     */
    public TransferReport send(String migrationId, int round, Path imageDir, TransferOptions options, TransferListener listener,
                               DeltaPlanner.Holdings receiverHolds) {
        return send(migrationId, round, imageDir, options, listener, receiverHolds, null);
    }

    /**
     * As {@link #send(String, int, Path, TransferOptions, TransferListener, DeltaPlanner.Holdings)},
     * for an image whose pages files {@code follower} (null: none) followed while they were
     * written: it is stopped, and the scan reads only the pages it had not digested.
     */
    public TransferReport send(String migrationId, int round, Path imageDir, TransferOptions options, TransferListener listener,
                               DeltaPlanner.Holdings receiverHolds, PagesFileFollower follower) {
        Instant start = clock.instant();
        ImageScan scan = ImageScan.of(imageDir, migrationId, round, follower == null ? Map.of() : follower.stop());
        RoundTally tally = new RoundTally(scan.manifest().totalBytes(), listener);
        tally.scanned(Duration.between(start, clock.instant()));
        Map<Integer, byte[]> fileDigests = new HashMap<>();
        PagePlanning planning = PagePlanning.of(scan, migrationId, round, options, digestsPerMessage, beginBudget,
                options.deltas() ? receiverHolds : null);
        String sendId = UUID.randomUUID().toString(); // a retry after a commit whose answer was lost gets that answer
        for (int attempt = 1; ; attempt++) {
            try {
                CommitResponse done = attempt(migrationId, round, sendId, scan, planning, options, tally, fileDigests,
                        attempt == 1 ? receiverHolds : null);
                return tally.report(migrationId, round, scan.manifest().files().size(), attempt,
                        Duration.between(start, clock.instant()), done.getImageDir());
            } catch (StatusRuntimeException e) {
                Optional<TransferRefusedException> refused = Refusals.fromStatus(migrationId, round, e);
                if (refused.isPresent() && refused.get().reason() == TransferRefusedException.Reason.HELD_DIGESTS_DIFFER
                        && planning.leavesOutHeld()) {
                    // the receiver does not hold what the rounds counted on (it lost or forgot pages): every digest, then
                    log.info("migration {} round {}: the receiver holds other pages than counted on ({}), sending every page digest",
                            migrationId, round, refused.get().getMessage());
                    planning = PagePlanning.of(scan, migrationId, round, options, digestsPerMessage, beginBudget, null);
                    continue;
                }
                if (refused.isPresent()) throw refused.get();
                if (attempt >= options.maxAttempts()) {
                    throw new TransferException(migrationId, round, "gave up after " + attempt + " attempts", e);
                }
                log.info("migration {} round {}: attempt {} broke ({}), resuming", migrationId, round, attempt, e.getStatus());
            }
        }
    }

    /**
     * Sends a container bundle (config.json, rootfs/) as one {@link BundleArchive} under transfer
     * id {@code transferId} (unique per send, e.g. container and epoch). A destination that already
     * received the same bundle (same archive digest, any transfer) links it instead of receiving
     * it: the report then shows the file reused and no payload. The receiver's published directory
     * ({@link TransferReport#receiverImageDir()}) holds {@value BundleArchive#FILE_NAME} to unpack.
     */
    public TransferReport sendBundle(String transferId, Path bundleDir, Path workDir, TransferOptions options) {
        Path dir;
        try {
            dir = java.nio.file.Files.createTempDirectory(workDir, "bundle-");
        } catch (IOException e) {
            throw new UncheckedIOException("creating a directory in " + workDir, e);
        }
        try {
            BundleArchive.pack(bundleDir, dir);
            return send(transferId, 1, dir, options, TransferListener.NONE);
        } finally {
            MigrationImages.deleteTree(dir);
        }
    }

    /**
     * Sends pages read from the running process ahead of the final dump: page i is
     * {@code pages[i*4096 ..]} at {@code vaddrs[i]} of address space {@code space} (the pid in the
     * image). The receiver's {@link PageStore} keeps them, so the next round need not send them
     * again if they did not change. Each message is compressed where that pays off (options'
     * compress), harder where it pays well ({@link ChunkCodec#encodeDense}): these bytes travel
     * while the container runs, not in its downtime. Returns the pages the receiver took and the bytes of the messages sent.
     */
    public LivePagesSent sendLivePages(String migrationId, String space, long[] vaddrs, byte[] pages, TransferOptions options) {
        return sendLivePages(migrationId, space, vaddrs, pages, null, options);
    }

    /**
     * As {@link #sendLivePages(String, String, long[], byte[], TransferOptions)}, and then, with
     * {@code frozen} not null, the mark that ends a round read while the process is frozen: every
     * page in {@code frozen} (the whole round's, these pages and those that did not change) is
     * now held by the receiver as the frozen process has it ({@link PageStore#markFrozen}).
     * Taken once acknowledged.
     */
    public LivePagesSent sendLivePages(String migrationId, String space, long[] vaddrs, byte[] pages, PageRuns.Runs frozen,
                                       TransferOptions options) {
        return sendLivePages(migrationId, space, vaddrs, pages, frozen, null, null, options);
    }

    /**
     * As {@link #sendLivePages(String, String, long[], byte[], PageRuns.Runs, TransferOptions)}, with
     * {@code held} (ascending, or null): the pages among these, by address, that the receiver
     * holds already from its parent image and that were left out; it puts them in its live file
     * where they belong ({@link PageStore#putLiveHeld}), so that the file lies in the order of the
     * pages file the final dump will write. With {@code heldDigests}, their 64-bit digests as the
     * sender read them (null if it did not), the receiver keeps a held run only if its copies match.
     */
    public LivePagesSent sendLivePages(String migrationId, String space, long[] vaddrs, byte[] pages, PageRuns.Runs frozen,
                                       long[] held, long[] heldDigests, TransferOptions options) {
        return sendLivePages(migrationId, space, vaddrs, pages, frozen, held, heldDigests, null, options);
    }

    /**
     * As {@link #sendLivePages(String, String, long[], byte[], PageRuns.Runs, long[], long[], TransferOptions)},
     * with {@code hot} (ascending, none among {@code held}, or null): pages among these, by address,
     * left for the final image, whose places the receiver keeps in its live file.
     */
    public LivePagesSent sendLivePages(String migrationId, String space, long[] vaddrs, byte[] pages, PageRuns.Runs frozen,
                                       long[] held, long[] heldDigests, long[] hot, TransferOptions options) {
        if (pages.length != vaddrs.length * PageHash.PAGE_SIZE) {
            throw new IllegalArgumentException(pages.length + " bytes for " + vaddrs.length + " pages");
        }
        int perMessage = options.chunkBytes() / PageHash.PAGE_SIZE;
        FlowControlledUpload<LivePages, LivePagesAck> upload = new FlowControlledUpload<>(asyncStub::putLivePages);
        try {
            long wire = 0;
            boolean anyHeld = held != null && held.length > 0, anyHot = hot != null && hot.length > 0;
            if (anyHeld || anyHot) {
                LivePages.Builder b = LivePages.newBuilder().setMigrationId(migrationId).setSpace(space);
                if (anyHeld) {
                    PageRuns.Runs runs = PageRuns.of(held, 0, held.length);
                    b.addAllHeldRunStarts(runs.startList()).addAllHeldRunPages(runs.pageList());
                    if (heldDigests != null) {
                        for (int k = 0, first = 0; k < runs.pages().length; first += runs.pages()[k], k++) {
                            b.addHeldRunChecks(PageRuns.check(heldDigests, first, first + runs.pages()[k]));
                        }
                    }
                }
                if (anyHot) {
                    PageRuns.Runs runs = PageRuns.of(hot, 0, hot.length);
                    b.addAllHotRunStarts(runs.startList()).addAllHotRunPages(runs.pageList());
                }
                LivePages message = b.build();
                wire += message.getSerializedSize();
                upload.send(message);
            }
            for (int first = 0; first < vaddrs.length; first += perMessage) {
                int n = Math.min(perMessage, vaddrs.length - first);
                ChunkCodec.Payload p = ChunkCodec.encodeDense(pages, first * PageHash.PAGE_SIZE, n * PageHash.PAGE_SIZE,
                        options.compress());
                LivePages.Builder b = LivePages.newBuilder().setMigrationId(migrationId).setSpace(space)
                        .setCodec(p.codec()).setPages(p.bytes());
                PageRuns.Runs runs = PageRuns.of(vaddrs, first, first + n);
                b.addAllRunStarts(runs.startList()).addAllRunPages(runs.pageList());
                LivePages message = b.build();
                wire += message.getSerializedSize();
                upload.send(message);
            }
            if (frozen != null) {
                LivePages.Builder mark = LivePages.newBuilder().setMigrationId(migrationId).setSpace(space).setFrozen(true);
                mark.addAllRunStarts(frozen.startList()).addAllRunPages(frozen.pageList());
                LivePages message = mark.build();
                wire += message.getSerializedSize();
                upload.send(message);
            }
            long taken = upload.finish(options.callTimeout().toMillis(), TimeUnit.MILLISECONDS).getPages();
            return new LivePagesSent(taken, wire);
        } catch (StatusRuntimeException e) {
            throw new TransferException(migrationId, 0, "live pages of " + space + " not taken: " + e.getStatus(), e);
        } catch (Throwable t) {
            upload.close();
            throw rethrown(migrationId, 0, "live pages of " + space + " not sent", t);
        }
    }

    /**
     * Asks the receiver to start {@code migrationId} from the parent image it kept of
     * {@code containerId}, if any, and, with {@code digests}, which pages that gives it (for
     * pre-copy to leave out). A receiver that cannot say (an older one) holds nothing.
     */
    public HeldPages heldPages(String migrationId, String containerId, boolean digests, TransferOptions options) {
        try {
            HeldPagesRequest req = HeldPagesRequest.newBuilder().setMigrationId(migrationId).setContainerId(containerId)
                    .setDigests(digests).build();
            HeldPagesReply reply = deadline(options).heldPages(req);
            return HeldPages.of(reply, req.getSerializedSize() + reply.getSerializedSize());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED) return HeldPages.NONE;
            throw new TransferException(migrationId, 0, "pages held for container " + containerId + " not known: "
                    + e.getStatus(), e);
        }
    }

    /**
     * The link's round trip: the shortest of {@code pings} calls the receiver answers at once (the
     * first may still pay for the connection). Zero if the receiver cannot say (an older one).
     */
    public Duration roundTrip(String migrationId, int pings, TransferOptions options) {
        long best = Long.MAX_VALUE;
        try {
            for (int i = 0; i < pings; i++) {
                long t0 = System.nanoTime();
                deadline(options).ping(PingRequest.getDefaultInstance());
                best = Math.min(best, System.nanoTime() - t0);
            }
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED) return Duration.ZERO;
            throw new TransferException(migrationId, 0, "no answer to a ping: " + e.getStatus(), e);
        }
        return best == Long.MAX_VALUE ? Duration.ZERO : Duration.ofNanos(best);
    }

    /** What {@link #sendLivePages} sent: pages the receiver took, bytes of the messages on the wire. */
    public record LivePagesSent(long pages, long wireBytes) {}

    /** Unchecked failures as they are (gRPC status ones are retried or mapped by the caller); the rest wrapped. */
    private static RuntimeException rethrown(String migrationId, int round, String what, Throwable t) {
        if (t instanceof Error err) throw err;
        if (t instanceof RuntimeException re) return re;
        if (t instanceof InterruptedException) Thread.currentThread().interrupt();
        return new TransferException(migrationId, round, what, t);
    }

    /**
     * One attempt: Begin (carrying the pagemaps and page digests when small, so it answers the
     * plans too), then one upload of every file still missing that ends with the commit and is
     * answered by the published round. Only when the pagemaps are too large to ride along with
     * Begin (or the receiver is from before, and ignored them) are they uploaded first, and the
     * pages planned after.
     */
    private CommitResponse attempt(String migrationId, int round, String sendId, ImageScan scan, PagePlanning planning,
                                   TransferOptions options, RoundTally tally, Map<Integer, byte[]> fileDigests,
                                   DeltaPlanner.Holdings receiverHolds) {
        ImageManifest manifest = scan.manifest();
        tally.startAttempt();
        try (FileHashing hashing = new FileHashing("image-sha-send-" + migrationId)) {
            BeginRequest.Builder asking = planning.addTo(BeginRequest.newBuilder().setMigrationId(migrationId).setRound(round)
                    .setSendId(sendId).setManifest(manifest.toProto()));
            RoundTally speculated = receiverHolds == null || !options.deltas() ? null
                    : speculate(asking, migrationId, round, scan, planning, options, fileDigests, hashing, receiverHolds);
            BeginRequest begin = asking.build();
            Instant asked = clock.instant();
            BeginResponse states = deadline(options).begin(begin);
            if (begin.getPageDigestsCount() > 0) tally.planned(Duration.between(asked, clock.instant()));
            tally.wire(begin.getSerializedSize() + states.getSerializedSize());
            if (states.hasPublished()) { // the speculative upload was taken, or an earlier attempt's commit went through
                if (speculated != null) tally.took(speculated);
                return states.getPublished();
            }
            tally.resumed(states, manifest);
            Sending sending = new Sending(migrationId, round, scan, options, tally, states, fileDigests);
            sending.hashing = hashing;
            boolean oneUpload = states.getOneUpload(); // false: a receiver from before, which ignored what rode along
            boolean pagemapsFirst = (!oneUpload || !planning.pagemapsInBegin()) && planning.anyToPlan(states);
            if (pagemapsFirst) sending.upload(true, false, Map.of(), false); // the receiver plans against its pagemaps
            BeginRequest answered = oneUpload ? begin : BeginRequest.getDefaultInstance();
            Map<Integer, DeltaPlanner.PagesFilePlan> plans = planning.plans(answered, states, slice -> {
                Instant t = clock.instant();
                PagesNeeded answer = deadline(options).planPages(slice);
                tally.planned(Duration.between(t, clock.instant()));
                tally.wire(slice.getSerializedSize() + answer.getSerializedSize());
                return answer;
            }, options.deltas());
            CommitResponse done = sending.upload(!pagemapsFirst, true, plans, oneUpload);
            if (oneUpload) return done;
        }
        CommitRequest commit = commitRequest(migrationId, round, scan, fileDigests);
        Instant committing = clock.instant();
        CommitResponse done = deadline(options).commit(commit);
        tally.committed(Duration.between(committing, clock.instant()));
        tally.wire(commit.getSerializedSize() + done.getSerializedSize());
        return done;
    }

    /**
     * Adds to {@code begin} the plans the receiver will answer if it holds what
     * {@code receiverHolds} says, and the whole upload such an answer leads to, commit included,
     * when all page digests ride with the Begin and the upload fits in its budget
     * ({@value #SPECULATION_BUDGET} bytes). Returns the figures of that upload (counted only if the
     * receiver takes it), or null if nothing was added.
     */
    private RoundTally speculate(BeginRequest.Builder begin, String migrationId, int round, ImageScan scan, PagePlanning planning,
                                 TransferOptions options, Map<Integer, byte[]> fileDigests, FileHashing hashing,
                                 DeltaPlanner.Holdings receiverHolds) {
        Optional<List<PagesNeeded>> predicted = planning.predictedPlans(receiverHolds);
        if (predicted.isEmpty()) return null;
        // What the receiver answers to a first Begin: the pagemaps riding along are complete, nothing else is.
        BeginResponse.Builder fresh = BeginResponse.newBuilder().addAllPlans(predicted.get());
        for (ImageManifest.File f : scan.manifest().files()) {
            boolean rides = planning.pagemapsInBegin() && PagemapImage.spaceOf(f.name()).isPresent();
            fresh.addFiles(rides ? FileState.newBuilder().setVerifiedBytes(f.length()).setComplete(true).build()
                    : FileState.getDefaultInstance());
        }
        BeginResponse expected = fresh.build();
        Map<Integer, DeltaPlanner.PagesFilePlan> plans = planning.plans(begin.build(), expected, slice -> {
            throw new IllegalStateException("a slice of page digests did not ride with the Begin");
        }, true);
        RoundTally tally = new RoundTally(scan.manifest().totalBytes(), TransferListener.NONE);
        Sending sending = new Sending(migrationId, round, scan, options, tally, expected, fileDigests);
        sending.hashing = hashing;
        Optional<List<Chunk>> chunks = sending.chunks(plans, speculationBudget);
        if (chunks.isEmpty()) return null;
        begin.addAllPredictedPlans(predicted.get()).addAllSpeculativeChunks(chunks.get());
        return tally;
    }

    /** Where a round's chunks go: the upload stream, or a list that rides with the Begin. */
    private interface ChunkSink {
        void send(Chunk c) throws Throwable;
    }

    /** A speculative upload grew past its budget: it does not ride with the Begin. */
    private static final class OverBudget extends RuntimeException {
        OverBudget() {
            super(null, null, false, false);
        }
    }

    /** What the commit carries: the digest of every file whose manifest entry has none. */
    private static CommitRequest commitRequest(String migrationId, int round, ImageScan scan, Map<Integer, byte[]> fileDigests) {
        ImageManifest manifest = scan.manifest();
        CommitRequest.Builder commit = CommitRequest.newBuilder().setMigrationId(migrationId).setRound(round);
        for (int i = 0; i < manifest.files().size(); i++) {
            if (manifest.files().get(i).hasSha256()) continue;
            byte[] sha = fileDigests.get(i);
            if (sha == null) sha = digestOfFileSentBefore(scan, i); // complete at the receiver before this send
            commit.addDigests(FileDigest.newBuilder().setFileIndex(i).setSha256(ByteString.copyFrom(sha)));
        }
        return commit.build();
    }

    /**
     * The file digest of a file without SHA-256 in the manifest that the receiver had complete
     * before this send began: {@link PageListDigest} for a pages file its pagemap lays out (the
     * receiver planned it, as it does every such file), else the SHA-256 of its bytes. Should the
     * receiver have taken it otherwise, the commit is refused and the file sent again.
     */
    private static byte[] digestOfFileSentBefore(ImageScan scan, int i) {
        ImageManifest.File f = scan.manifest().files().get(i);
        long[] digests = scan.pageDigests().get(f.name());
        if (digests != null && scan.layoutOf(f.name()).isPresent()) return PageListDigest.of(f.length(), digests);
        return sha256Of(scan.dir().resolve(f.name()), Long.MAX_VALUE, null);
    }

    /** SHA-256 of the first {@code upTo} bytes of a file, continuing {@code md} if given. */
    private static byte[] sha256Of(Path file, long upTo, MessageDigest md) {
        MessageDigest sha = md != null ? md : ReceiveSession.sha256();
        byte[] buf = new byte[1 << 20];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long left = upTo;
            while (left > 0) {
                int n = ch.read(ByteBuffer.wrap(buf, 0, (int) Math.min(buf.length, left)));
                if (n < 0) break;
                sha.update(buf, 0, n);
                left -= n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
        return md != null ? null : sha.digest();
    }

    /** Most bytes of chunks that ride with a Begin speculatively (well under the message size limit). */
    static final int SPECULATION_BUDGET = 2 << 20;

    private ImageTransferGrpc.ImageTransferBlockingStub deadline(TransferOptions options) {
        return blockingStub.withDeadlineAfter(options.callTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One attempt's uploads. */
    private final class Sending {
        private final String migrationId;
        private final int round;
        private final ImageScan scan;
        private final TransferOptions options;
        private final RoundTally tally;
        private final BeginResponse states;
        /** Hashes streamed files off the sending thread. */
        FileHashing hashing;
        /** File digests of the files sent whose manifest entry has none, by index (across attempts). */
        private final Map<Integer, byte[]> fileDigests;

        Sending(String migrationId, int round, ImageScan scan, TransferOptions options, RoundTally tally, BeginResponse states,
                Map<Integer, byte[]> fileDigests) {
            this.fileDigests = fileDigests;
            this.migrationId = migrationId;
            this.round = round;
            this.scan = scan;
            this.options = options;
            this.tally = tally;
            this.states = states;
        }

        /**
         * Uploads the plain files ({@code plainFiles}) and pages files ({@code pagesFiles}) still
         * missing, pages files by their plan if they have one; then, if {@code commit}, commits
         * the round as the stream's last message and returns the published round (else null).
         */
        CommitResponse upload(boolean plainFiles, boolean pagesFiles, Map<Integer, DeltaPlanner.PagesFilePlan> plans, boolean commit) {
            ImageManifest m = scan.manifest();
            FlowControlledUpload<Chunk, UploadAck> upload = null;
            try {
                for (int i = 0; i < m.files().size(); i++) {
                    ImageManifest.File f = m.files().get(i);
                    FileState st = states.getFiles(i);
                    if (st.getComplete() || (f.isPages() ? !pagesFiles : !plainFiles)) continue;
                    if (upload == null) upload = new FlowControlledUpload<>(asyncStub::upload);
                    sendFile(upload::send, i, f, st.getVerifiedBytes(), plans.get(i));
                }
                Instant committing = null;
                if (commit) {
                    if (upload == null) upload = new FlowControlledUpload<>(asyncStub::upload);
                    Chunk last = Chunk.newBuilder().setMigrationId(migrationId).setRound(round).setAttempt(states.getAttempt())
                            .setCommit(commitRequest(migrationId, round, scan, fileDigests)).build();
                    committing = clock.instant();
                    upload.send(last);
                    tally.wire(last.getSerializedSize());
                }
                if (upload == null) return null;
                UploadAck ack = upload.finish(options.callTimeout().toMillis(), TimeUnit.MILLISECONDS);
                tally.wire(ack.getSerializedSize());
                if (!commit) return null;
                tally.committed(Duration.between(committing, clock.instant()));
                if (!ack.hasCommitted()) throw new TransferException(migrationId, round, "receiver did not answer the commit", null);
                return ack.getCommitted();
            } catch (Throwable t) {
                if (upload != null) upload.close(); // cancels a call still open, e.g. when planning failed
                throw rethrown(migrationId, round, "upload failed", t);
            }
        }

        /**
         * Every chunk of an upload of the whole round by {@code plans} (every file from where the
         * answer said it stands), ending with the commit, collected rather than streamed; empty as
         * soon as they pass {@code budget} bytes (nothing more is read or compressed then).
         */
        Optional<List<Chunk>> chunks(Map<Integer, DeltaPlanner.PagesFilePlan> plans, long budget) {
            ImageManifest m = scan.manifest();
            List<Chunk> out = new ArrayList<>();
            long[] bytes = {0};
            ChunkSink collect = c -> {
                bytes[0] += c.getSerializedSize();
                if (bytes[0] > budget) throw new OverBudget();
                out.add(c);
            };
            try {
                for (int i = 0; i < m.files().size(); i++) {
                    FileState st = states.getFiles(i);
                    if (!st.getComplete()) sendFile(collect, i, m.files().get(i), st.getVerifiedBytes(), plans.get(i));
                }
            } catch (OverBudget e) {
                return Optional.empty();
            } catch (Throwable t) {
                throw rethrown(migrationId, round, "preparing the round's upload", t);
            }
            out.add(Chunk.newBuilder().setMigrationId(migrationId).setRound(round).setAttempt(states.getAttempt())
                    .setCommit(commitRequest(migrationId, round, scan, fileDigests)).build());
            return Optional.of(out);
        }

        private void sendFile(ChunkSink upload, int index, ImageManifest.File f, long from, DeltaPlanner.PagesFilePlan plan)
                throws Throwable {
            if (plan != null) {
                sendPlannedPages(upload, index, f, from, plan);
                return;
            }
            CompressionPolicy compression = new CompressionPolicy(options.compress());
            MessageDigest sha = f.hasSha256() ? null : ReceiveSession.sha256();
            if (sha != null && from > 0) sha256Of(scan.dir().resolve(f.name()), from, sha); // resumed: hash what is there
            try (FileChannel ch = FileChannel.open(scan.dir().resolve(f.name()), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ch.position(from);
                long offset = from;
                while (offset < f.length()) {
                    byte[] buf = new byte[(int) Math.min(options.chunkBytes(), f.length() - offset)]; // owned by the chunk
                    int n = ImageScan.readFully(ch, buf);
                    if (n != buf.length) {
                        throw new IllegalStateException(f.name() + " changed since it was scanned");
                    }
                    ChunkCodec.Payload p = ChunkCodec.encodeOwned(buf, n, compression.shouldTry());
                    compression.observe(p, n);
                    Chunk chunk = Chunk.newBuilder().setMigrationId(migrationId).setRound(round).setAttempt(states.getAttempt())
                            .setFileIndex(index).setOffset(offset).setLength(n).setCrc32C(ChunkCodec.crc32c(buf, 0, n))
                            .setCodec(p.codec()).setPayload(p.bytes()).build();
                    upload.send(chunk);
                    if (sha != null) hashing.update(sha, buf); // on the hashing thread, while this one reads on
                    offset += n;
                    tally.chunk(f.name(), n, chunk.getPayload().size(), chunk.getSerializedSize());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + f.name(), e);
            }
            if (sha != null) fileDigests.put(index, hashing.digest(sha));
        }

        /**
         * Sends a planned pages file from page {@code from / 4096} on, reading only the pages
         * that travel as bytes: the chunk CRC32Cs come from the page CRC32Cs of the scan
         * ({@link PageCrcs}) and the file digest from its page digests ({@link PageListDigest}),
         * so pages the receiver holds are not read, checked or hashed again.
         */
        private void sendPlannedPages(ChunkSink upload, int index, ImageManifest.File f, long from,
                                      DeltaPlanner.PagesFilePlan plan) throws Throwable {
            long[] digests = scan.pageDigests().get(f.name());
            int[] crcs = scan.pageCrcs().get(f.name());
            if (from % PageHash.PAGE_SIZE != 0) throw new IllegalStateException(f.name() + " resumed at " + from + ", not a page");
            CompressionPolicy compression = new CompressionPolicy(options.compress());
            // zstd's fast level only: these pages travel in the downtime. Preparing the game server's final
            // image took 5.5-6 ms with the dense level of live pages, 2.3-3.9 ms without; the dense level
            // saves 8-10 % of its ~40-60 KB, under 1 ms even at 50 Mbit/s.
            int dataPagesPerChunk = options.chunkBytes() / PageHash.PAGE_SIZE;
            int maxChunkPages = ChunkCodec.MAX_CHUNK_BYTES / PageHash.PAGE_SIZE;
            try (FileChannel ch = FileChannel.open(scan.dir().resolve(f.name()), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                if (ch.size() != f.length()) throw new IllegalStateException(f.name() + " changed since it was scanned");
                for (int first = (int) (from / PageHash.PAGE_SIZE), pages; first < digests.length; first += pages) {
                    // a chunk spans up to the largest chunk, as long as at most chunkBytes of it may travel as bytes
                    int end = Math.min(first + maxChunkPages, digests.length);
                    int needed = 0;
                    for (int p = plan.nextNeeded(first); p >= 0 && p < end; p = plan.nextNeeded(p + 1)) {
                        if (++needed > dataPagesPerChunk) {
                            end = p;
                            break;
                        }
                    }
                    pages = end - first;
                    DeltaPlanner.PlannedChunk pc = plan.plan(pages, first, digests);
                    int[] dp = pc.dataPages();
                    byte[] data = new byte[dp.length * PageHash.PAGE_SIZE]; // owned by the chunk
                    for (int k = 0; k < dp.length; ) {
                        int run = 1;
                        while (k + run < dp.length && dp[k + run] == dp[k] + run) run++;
                        readAt(ch, f, data, k * PageHash.PAGE_SIZE, run * PageHash.PAGE_SIZE, (long) dp[k] * PageHash.PAGE_SIZE);
                        k += run;
                    }
                    ChunkCodec.Payload p = ChunkCodec.encodeOwned(data, data.length, compression.shouldTry());
                    compression.observe(p, data.length);
                    Chunk.Builder c = Chunk.newBuilder().setMigrationId(migrationId).setRound(round).setAttempt(states.getAttempt())
                            .setFileIndex(index).setOffset((long) first * PageHash.PAGE_SIZE).setLength(pages * PageHash.PAGE_SIZE)
                            .setCrc32C(PageCrcs.ofRun(crcs, first, pages))
                            .setCodec(p.codec()).setPayload(p.bytes());
                    ChunkCodec.Payload ops = ChunkCodec.encodeOps(pc.ops());
                    c.setPageOps(ops.bytes()).setPageOpsCodec(ops.codec());
                    for (int d : pc.dupOf()) c.addDupOf(d);
                    Chunk chunk = c.build();
                    upload.send(chunk);
                    tally.pages(pages, dp.length, pc.heldPages(), pc.zeroPages(), pc.dupPages());
                    tally.chunk(f.name(), pages * PageHash.PAGE_SIZE, chunk.getPayload().size(), chunk.getSerializedSize());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + f.name(), e);
            }
            fileDigests.put(index, PageListDigest.of(f.length(), digests));
        }

        private static void readAt(FileChannel ch, ImageManifest.File f, byte[] dst, int off, int len, long pos) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(dst, off, len);
            while (b.hasRemaining()) {
                if (ch.read(b, pos + b.position() - off) < 0) throw new IllegalStateException(f.name() + " changed since it was scanned");
            }
        }
    }
}
