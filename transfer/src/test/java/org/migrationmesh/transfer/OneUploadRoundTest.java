package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.CommitRequest;
import org.migrationmesh.proto.transfer.FileDigest;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.migrationmesh.proto.transfer.PageDigests;
import org.migrationmesh.proto.transfer.PagesNeeded;
import org.migrationmesh.proto.transfer.UploadAck;
import org.migrationmesh.transfer.TransferRefusedException.Reason;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A round in one upload: pagemaps and page digests riding along with Begin (answered with the
 * plans), the commit as the upload's last message. Hostile or misplaced input there is refused
 * as on the other paths, nothing partial is published, and a round broken anywhere resumes.
 */
class OneUploadRoundTest extends InProcessTransfer {
    @Test
    void aBeginCarryingPagemapsAndDigestsAnswersThePlans() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 41);
        ImageScan scan = ImageScan.of(src, migration, 1);
        int pagemap = index(scan, "pagemap-1.img"), pages = index(scan, "pages-1.img");
        BeginResponse answer = h.blocking().begin(begin(scan).addChunks(pagemapChunk(scan, pagemap, 0))
                .addPageDigests(slice(scan, pages, 0, SyntheticImage.PAGES)).build());
        assertThat(answer.getFiles(pagemap).getComplete()).isTrue();
        assertThat(answer.getPlansCount()).isEqualTo(1);
        assertThat(answer.getPlans(0).getPages()).isEqualTo(SyntheticImage.PAGES); // laid out by the pagemap, all needed
        // Begun again: the pagemap is there already, its chunk is skipped, the plan answered again
        BeginResponse again = h.blocking().begin(begin(scan).addChunks(pagemapChunk(scan, pagemap, 0))
                .addPageDigests(slice(scan, pages, 0, SyntheticImage.PAGES)).build());
        assertThat(again.getAttempt()).isEqualTo(answer.getAttempt() + 1);
        assertThat(again.getPlans(0).getPages()).isEqualTo(SyntheticImage.PAGES);
    }

    @Test
    void hostileInputRidingAlongWithBeginIsRefused() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 42);
        ImageScan scan = ImageScan.of(src, migration, 1);
        int pagemap = index(scan, "pagemap-1.img"), pages = index(scan, "pages-1.img"), core = index(scan, "core-1.img");
        Chunk good = pagemapChunk(scan, pagemap, 0);
        assertBeginRefused(begin(scan).addChunks(good.toBuilder().setCrc32C(good.getCrc32C() ^ 1)), Reason.CORRUPT_CHUNK);
        assertBeginRefused(begin(scan).addChunks(good.toBuilder().setFileIndex(99)), Reason.CORRUPT_CHUNK);
        assertBeginRefused(begin(scan).addChunks(good.toBuilder().setCommit(CommitRequest.getDefaultInstance())), Reason.BAD_MANIFEST);
        // planning before the pagemap is in, a file that is no pages file, slices out of order, beyond the file, garbage
        assertBeginRefused(begin(scan).addPageDigests(slice(scan, pages, 0, SyntheticImage.PAGES)), Reason.NOT_PLANNED);
        assertBeginRefused(begin(scan).addChunks(good).addPageDigests(slice(scan, core, 0, 1)), Reason.NOT_PLANNED);
        assertBeginRefused(begin(scan).addChunks(good).addPageDigests(slice(scan, pages, 10, 20)), Reason.NOT_PLANNED);
        assertBeginRefused(begin(scan).addChunks(good).addPageDigests(slice(scan, pages, 0, SyntheticImage.PAGES).toBuilder()
                .setTotalPages(SyntheticImage.PAGES + 1)), Reason.BAD_MANIFEST);
        assertBeginRefused(begin(scan).addChunks(good).addPageDigests(slice(scan, pages, 0, 10).toBuilder()
                .setCodec(org.migrationmesh.proto.transfer.Codec.CODEC_ZSTD).setDigests(ByteString.copyFromUtf8("not zstd"))),
                Reason.BAD_MANIFEST);
        assertBeginRefused(begin(scan).addChunks(good).addPageDigests(slice(scan, pages, 0, 10).toBuilder().setFileIndex(-1)),
                Reason.BAD_MANIFEST);
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
    }

    @Test
    void aCommitEndingAnUploadPublishesOnlyAWholeVerifiedRound() throws Exception {
        byte[] content = new byte[10000];
        new java.util.Random(43).nextBytes(content);
        BeginRequest begin = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                new ImageManifest(List.of(new ImageManifest.File("core-1.img", content.length,
                        ReceiveSession.sha256().digest(content)))).toProto()).build();
        long attempt = h.blocking().begin(begin).getAttempt();
        Chunk first = TransferHarness.plainChunk(migration, 1, attempt, 0, 0, java.util.Arrays.copyOf(content, 4000));
        Chunk rest = TransferHarness.plainChunk(migration, 1, attempt, 0, 4000, java.util.Arrays.copyOfRange(content, 4000, 10000));
        Chunk commit = commitChunk(attempt);

        assertUploadRefused(List.of(first, commit), Reason.TRUNCATED); // the first chunk counts, the round is not whole
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        assertUploadRefused(List.of(rest, commitChunk(attempt - 1)), Reason.OUT_OF_ORDER); // a commit of another attempt
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        assertUploadRefused(List.of(commit.toBuilder().setCommit(commit.getCommit().toBuilder().setRound(2)).build()),
                Reason.BAD_MANIFEST);
        assertThat(h.receiver.publishedImage(migration)).isEmpty();

        UploadAck ack = h.upload(List.of(commit)).get(10, TimeUnit.SECONDS); // rest arrived before its commit was refused
        assertThat(ack.hasCommitted()).isTrue();
        assertThat(Files.readAllBytes(Path.of(ack.getCommitted().getImageDir()).resolve("core-1.img"))).isEqualTo(content);
        assertThat(h.receiver.publishedImage(migration)).contains(Path.of(ack.getCommitted().getImageDir()));
        assertUploadRefused(List.of(commit), Reason.NO_SESSION); // published: nothing more to commit
    }

    @Test
    void anUploadRidingWithBeginIsTakenOnlyWholeAndInOrder() throws Exception {
        byte[] content = new byte[5000];
        new java.util.Random(46).nextBytes(content);
        BeginRequest.Builder begin = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                new ImageManifest(List.of(new ImageManifest.File("core-1.img", content.length,
                        ReceiveSession.sha256().digest(content)))).toProto());
        Chunk whole = TransferHarness.plainChunk(migration, 1, 0, 0, 0, content);
        Chunk commit = commitChunk(0);

        Chunk damaged = whole.toBuilder().setCrc32C(whole.getCrc32C() ^ 1).build();
        assertBeginRefused(begin.clone().addSpeculativeChunks(damaged).addSpeculativeChunks(commit), Reason.CORRUPT_CHUNK);
        assertBeginRefused(begin.clone().addSpeculativeChunks(whole.toBuilder().setMigrationId("another")), Reason.BAD_MANIFEST);
        // Plans other than the receiver's: the upload is not looked at, the answer is as without it.
        BeginResponse ignored = h.blocking().begin(begin.clone().addPredictedPlans(PagesNeeded.newBuilder().setPages(1))
                .addSpeculativeChunks(whole).addSpeculativeChunks(commit).build());
        assertThat(ignored.hasPublished()).isFalse();
        assertThat(ignored.getFiles(0).getVerifiedBytes()).isZero();
        assertBeginRefused(begin.clone().addSpeculativeChunks(whole).addSpeculativeChunks(commit).addSpeculativeChunks(whole),
                Reason.BAD_MANIFEST); // nothing after the commit
        assertBeginRefused(begin.clone().addSpeculativeChunks(commit.toBuilder().setCommit(commit.getCommit().toBuilder()
                .setRound(2))), Reason.BAD_MANIFEST);
        assertThat(h.receiver.publishedImage(migration)).isEmpty();

        BeginResponse published = h.blocking().begin(begin.clone().addSpeculativeChunks(whole).addSpeculativeChunks(commit).build());
        assertThat(published.hasPublished()).as("taken whole with its commit: published in one round trip").isTrue();
        assertThat(Files.readAllBytes(Path.of(published.getPublished().getImageDir()).resolve("core-1.img"))).isEqualTo(content);
    }

    @Test
    void nothingIsTakenAfterTheCommitOfAnUpload() throws Exception {
        byte[] content = new byte[5000];
        new java.util.Random(44).nextBytes(content);
        BeginRequest begin = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                new ImageManifest(List.of(new ImageManifest.File("core-1.img", content.length,
                        ReceiveSession.sha256().digest(content)))).toProto()).build();
        long attempt = h.blocking().begin(begin).getAttempt();
        Chunk whole = TransferHarness.plainChunk(migration, 1, attempt, 0, 0, content);
        assertUploadRefused(List.of(whole, commitChunk(attempt), whole), Reason.OUT_OF_ORDER);
    }

    @Test
    void aPagesFileWhoseDigestInTheUploadsCommitDiffersIsRefusedAndSentAgain() throws Exception {
        byte[] pages = new byte[2 * 4096];
        new java.util.Random(45).nextBytes(pages);
        BeginRequest begin = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                new ImageManifest(List.of(new ImageManifest.File("pages-1.img", pages.length, new byte[0]))).toProto()).build();
        long attempt = h.blocking().begin(begin).getAttempt();
        Chunk wrongDigest = commitChunk(attempt).toBuilder().setCommit(CommitRequest.newBuilder().setMigrationId(migration).setRound(1)
                .addDigests(FileDigest.newBuilder().setFileIndex(0).setSha256(ByteString.copyFrom(new byte[32])))).build();
        assertUploadRefused(List.of(TransferHarness.plainChunk(migration, 1, attempt, 0, 0, pages), wrongDigest),
                Reason.FILE_DIGEST_MISMATCH);
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        assertThat(h.blocking().begin(begin).getFiles(0).getVerifiedBytes()).isZero();
    }

    @Test
    void aRoundBrokenAfterAnyMessageResumesAndIsPublishedWhole() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 46);
        TransferOptions small = new TransferOptions(64 * 1024, false, true, 3, Duration.ofSeconds(30));
        for (int breakAfter = 0; ; breakAfter++) {
            String id = migration + "-" + breakAfter;
            h.breakAfterChunks.set(breakAfter);
            TransferReport r = h.sender().send(id, 1, src, small, TransferListener.NONE);
            TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
            if (r.attempts() == 1) break; // the upload had fewer messages: every break point was tried
            assertThat(r.attempts()).as("break after %d", breakAfter).isEqualTo(2);
            assertThat(r.payloadBytes()).isLessThan(SyntheticImage.PAGES * 4096L + 64 * 1024);
        }
    }

    @Test
    void aCommitWhoseAnswerIsLostIsAnsweredToTheRetryOfTheSameSendOnly() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 49);
        AtomicBoolean loseOne = new AtomicBoolean(true);
        ClientInterceptor losesTheUploadsAnswer = new ClientInterceptor() {
            @Override
            public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
                ClientCall<Q, A> call = next.newCall(method, options);
                if (!method.equals(ImageTransferGrpc.getUploadMethod())) return call;
                return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                    @Override
                    public void start(Listener<A> listener, Metadata headers) {
                        super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                            private boolean lost;

                            @Override
                            public void onMessage(A message) {
                                lost = ((UploadAck) message).hasCommitted() && loseOne.getAndSet(false);
                                if (!lost) super.onMessage(message);
                            }

                            @Override
                            public void onClose(Status status, Metadata trailers) {
                                super.onClose(lost ? Status.UNAVAILABLE.withDescription("test loses the answer") : status, trailers);
                            }
                        }, headers);
                    }
                };
            }
        };
        ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, losesTheUploadsAnswer), Clock.systemUTC());
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        assertThat(loseOne).isFalse();
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(h.receiver.publishedImage(migration)).contains(Path.of(r.receiverImageDir()));
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        // another send of the same round is not told it is published: the round is refused as before
        assertThatThrownBy(() -> h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE))
                .isInstanceOfSatisfying(TransferRefusedException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_MANIFEST));
    }

    @Test
    void aChunkDamagedOnTheWayIsRefusedNothingIsPublishedAndTheResendIsWhole() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 47);
        h.tamperPageChunks = (n, c) -> n == 1 ? List.of(flipped(c)) : List.of(c);
        TransferOptions small = new TransferOptions(16 * 4096, false, true, 1, Duration.ofSeconds(30));
        assertThatThrownBy(() -> h.sender().send(migration, 1, src, small, TransferListener.NONE))
                .isInstanceOfSatisfying(TransferRefusedException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT_CHUNK));
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        h.tamperPageChunks = null;
        TransferReport r = h.sender().send(migration, 1, src, small, TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.resumedBytes()).isZero(); // a new send: its own first attempt
    }

    @Test
    void digestsOrPagemapsTooLargeToRideAlongArePlannedAfterBegin() throws Exception {
        Path src = FinalRoundTripsTest.twoProcessImage(tmp.resolve("src"), 48);
        long pagesSent = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE).pagesSent();
        for (int budget : new int[] {0, 600, 1200}) { // pagemaps uploaded first; pagemaps along but digests asked; some along
            String id = migration + "-" + budget;
            RoundTripCounter counter = new RoundTripCounter();
            ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC())
                    .digestsPerMessage(50).beginBudget(budget);
            TransferReport r = sender.send(id, 1, src, TransferOptions.defaults(), TransferListener.NONE);
            TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
            assertThat(r.pagesSent()).as("budget %d", budget).isEqualTo(pagesSent);
            assertThat(counter.roundTrips()).as("budget %d", budget).isGreaterThan(2);
        }
    }

    private static Chunk flipped(Chunk c) {
        byte[] payload = c.getPayload().toByteArray();
        payload[payload.length / 2] ^= 0x5a;
        return c.toBuilder().setPayload(ByteString.copyFrom(payload)).build();
    }

    private Chunk commitChunk(long attempt) {
        return Chunk.newBuilder().setMigrationId(migration).setRound(1).setAttempt(attempt)
                .setCommit(CommitRequest.newBuilder().setMigrationId(migration).setRound(1)).build();
    }

    private BeginRequest.Builder begin(ImageScan scan) {
        return BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(scan.manifest().toProto());
    }

    private static int index(ImageScan scan, String name) {
        List<ImageManifest.File> files = scan.manifest().files();
        for (int i = 0; i < files.size(); i++) if (files.get(i).name().equals(name)) return i;
        throw new AssertionError(name + " not in the image");
    }

    private Chunk pagemapChunk(ImageScan scan, int index, long attempt) throws Exception {
        byte[] bytes = Files.readAllBytes(scan.dir().resolve(scan.manifest().files().get(index).name()));
        return TransferHarness.plainChunk(migration, 1, attempt, index, 0, bytes);
    }

    private PageDigests slice(ImageScan scan, int index, int from, int to) {
        long[] digests = scan.pageDigests().get(scan.manifest().files().get(index).name());
        int total = digests == null ? to : digests.length;
        ByteBuffer b = ByteBuffer.allocate((to - from) * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int p = from; p < to; p++) b.putLong(digests == null ? p : digests[p]);
        return PageDigests.newBuilder().setMigrationId(migration).setRound(1).setFileIndex(index).setFirstPage(from)
                .setTotalPages(total).setDigests(ByteString.copyFrom(b.array())).build();
    }

    private void assertBeginRefused(BeginRequest.Builder req, Reason reason) {
        assertThatThrownBy(() -> h.blocking().begin(req.build())).as(reason.name())
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getTrailers().get(Refusals.REASON)).isEqualTo(reason.name()));
    }

    private void assertUploadRefused(List<Chunk> chunks, Reason reason) throws InterruptedException {
        try {
            h.upload(chunks).get(10, TimeUnit.SECONDS);
            throw new AssertionError("accepted, expected refusal " + reason);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOfSatisfying(StatusRuntimeException.class,
                    s -> assertThat(s.getTrailers().get(Refusals.REASON)).isEqualTo(reason.name()));
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no answer", e);
        }
    }
}
