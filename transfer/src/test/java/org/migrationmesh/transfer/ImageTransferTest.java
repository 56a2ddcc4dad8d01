package org.migrationmesh.transfer;

import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.CommitRequest;
import org.migrationmesh.proto.transfer.FileEntry;
import org.migrationmesh.proto.transfer.Manifest;
import org.migrationmesh.transfer.TransferRefusedException.Reason;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Sender and receiver over in-process gRPC, with synthetic CRIU-format images. */
class ImageTransferTest extends InProcessTransfer {
    @Test
    void roundsAreRebuiltByteIdenticalAndLaterRoundsSendOnlyChangedPages() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 1);
        List<TransferProgress> progress = new ArrayList<>();
        TransferReport r1 = h.sender().send(migration, 1, src, TransferOptions.defaults(), progress::add);
        TransferHarness.assertSameTree(src, Path.of(r1.receiverImageDir()));
        assertThat(r1.pages()).isEqualTo(SyntheticImage.PAGES);
        assertThat(r1.pagesZero()).isEqualTo(10);
        assertThat(r1.pagesDuplicate()).isGreaterThanOrEqualTo(10 + 49);
        assertThat(r1.wireBytes()).isLessThan(r1.logicalBytes());
        assertThat(progress).isNotEmpty();
        assertThat(progress.get(progress.size() - 1).logicalDone()).isEqualTo(r1.logicalBytes());

        SyntheticImage.dirty(src, 5, 2);
        TransferReport r2 = h.sender().send(migration, 2, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r2.receiverImageDir()));
        assertThat(r2.pagesSent()).isBetween(1L, 5L);
        assertThat(r2.pagesUnchanged()).isGreaterThan(SyntheticImage.PAGES - 10 - 5 - 1 - 60);
        assertThat(r2.filesReused()).isEqualTo(3); // pagemap, core, inventory (the empty file needs nothing)
        assertThat(r2.wireBytes()).isLessThan(5 * 4096 + 16 * 1024);
        assertThat(Path.of(r1.receiverImageDir())).doesNotExist();
    }

    @Test
    void pageDigestsTravelInSlices() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 7);
        TransferReport r1 = h.sender().digestsPerMessage(50).send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r1.receiverImageDir()));
        SyntheticImage.dirty(src, 7, 8);
        TransferReport r2 = h.sender().digestsPerMessage(50).send(migration, 2, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r2.receiverImageDir()));
        assertThat(r2.pagesSent()).isBetween(1L, 7L);
    }

    @Test
    void livePagesSentAheadAreNotSentAgain() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 3);
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        PageStore store = h.receiver.pageStore(migration);
        // pages 150.. are in the second run, at 0x600000 + (p - 64) * 4096
        for (int p = 150; p < SyntheticImage.PAGES; p++) {
            store.putLive(new PageKey("1", SyntheticImage.RUNS[2] + (long) (p - 64) * 4096), pages, p * 4096);
        }
        TransferReport r = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesUnchanged()).isEqualTo(SyntheticImage.PAGES - 150);
    }

    @Test
    void livePagesSentOverGrpcAreNotSentAgainAndStaleOnesAre() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 6);
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        long[] vaddrs = new long[64];
        for (int p = 0; p < 64; p++) vaddrs[p] = SyntheticImage.RUNS[0] + (long) p * 4096;
        byte[] first64 = java.util.Arrays.copyOf(pages, 64 * 4096);
        first64[5 * 4096] ^= 1; // page 5 changed after it was read live: must still be sent
        ImageSender sender = h.sender();
        TransferOptions small = new TransferOptions(16 * 4096, true, true, 1, java.time.Duration.ofSeconds(30));
        assertThat(sender.sendLivePages(migration, "1", vaddrs, first64, small).pages()).isEqualTo(64);
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        // pages 0..63 minus page 5 (stale) minus the 10 zero pages 10..19 (zero beats held)
        assertThat(r.pagesUnchanged()).isEqualTo(64 - 1 - 10);
    }

    @Test
    void theFrozenMarkMakesTheRoundsPagesTheFrozenProcesssAndAPageSentLaterLosesIt() throws Exception {
        long[] vaddrs = new long[8];
        byte[] pages = new byte[8 * 4096];
        new java.util.Random(5).nextBytes(pages);
        for (int p = 0; p < 8; p++) vaddrs[p] = 0x400000L + (long) p * 4096;
        ImageSender sender = h.sender();
        sender.sendLivePages(migration, "1", java.util.Arrays.copyOf(vaddrs, 6), java.util.Arrays.copyOf(pages, 6 * 4096),
                TransferOptions.defaults());
        // the frozen round: pages 6 and 7 changed; the mark names all 8 and one page never held (0x900000)
        long[] marked = java.util.Arrays.copyOf(vaddrs, 9);
        marked[8] = 0x900000L;
        sender.sendLivePages(migration, "1", java.util.Arrays.copyOfRange(vaddrs, 6, 8),
                java.util.Arrays.copyOfRange(pages, 6 * 4096, 8 * 4096), PageRuns.of(marked, 0, marked.length),
                TransferOptions.defaults());
        PageStore store = h.receiver.pageStore(migration);
        for (long v : vaddrs) assertThat(store.frozen(new PageKey("1", v))).as("0x%x", v).isTrue();
        assertThat(store.frozen(new PageKey("1", 0x900000L))).as("not held, not marked").isFalse();
        assertThat(store.frozen(new PageKey("2", vaddrs[0]))).isFalse();
        sender.sendLivePages(migration, "1", new long[] {vaddrs[3]}, new byte[4096], TransferOptions.defaults());
        assertThat(store.frozen(new PageKey("1", vaddrs[3]))).as("sent again after the mark").isFalse();
        assertThat(store.frozen(new PageKey("1", vaddrs[4]))).isTrue();
    }

    @Test
    void livePagesOfSeveralProcessesSentInterleavedBecomeTheirPagesFiles() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 11);
        byte[] other = new byte[40 * 4096];
        new java.util.Random(12).nextBytes(other);
        Files.write(src.resolve("pages-2.img"), other);
        Files.write(src.resolve("pagemap-2.img"), SyntheticImage.pagemap(2, new long[][] {{0x800000L, 40, PagemapImage.PE_PRESENT}}));
        ImageScan scan = ImageScan.of(src, migration, 1);
        ImageScan.PagemapLayout one = scan.layoutOf("pages-1.img").orElseThrow(), two = scan.layoutOf("pages-2.img").orElseThrow();
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        ImageSender sender = h.sender();
        for (int k = 0; k < 4; k++) { // batches of both processes, alternating, in address order within each
            int from = k * SyntheticImage.PAGES / 4, to = (k + 1) * SyntheticImage.PAGES / 4;
            sender.sendLivePages(migration, one.space(), java.util.Arrays.copyOfRange(one.vaddrs(), from, to),
                    java.util.Arrays.copyOfRange(pages, from * 4096, to * 4096), TransferOptions.defaults());
            sender.sendLivePages(migration, two.space(), java.util.Arrays.copyOfRange(two.vaddrs(), k * 10, k * 10 + 10),
                    java.util.Arrays.copyOfRange(other, k * 10 * 4096, (k * 10 + 10) * 4096), TransferOptions.defaults());
        }
        SyntheticImage.dirty(src, 3, 13);
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).isBetween(1L, 3L);
        assertThat(r.pagesUnchanged()).isEqualTo(SyntheticImage.PAGES + 40 - 10 - r.pagesSent());
        try (var left = Files.list(h.receiverRoot.resolve(migration))) { // each live file became a pages file, none was copied
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("live-"));
        }
    }

    @Test
    void aLiveFileAFewPagesOffTheDumpsOrderStillBecomesItsPagesFile() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 17);
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        long[] vaddrs = ImageScan.of(src, migration, 1).layoutOf("pages-1.img").orElseThrow().vaddrs();
        // read live: a page the dump does not have first, then the dump's pages but page 40 (not read live)
        long[] live = new long[SyntheticImage.PAGES];
        byte[] liveBytes = new byte[SyntheticImage.PAGES * 4096];
        live[0] = 0x300000L;
        byte[] notDumped = new byte[4096];
        new java.util.Random(18).nextBytes(notDumped);
        System.arraycopy(notDumped, 0, liveBytes, 0, 4096);
        for (int p = 0, k = 1; p < SyntheticImage.PAGES; p++) {
            if (p == 40) continue;
            live[k] = vaddrs[p];
            System.arraycopy(pages, p * 4096, liveBytes, k++ * 4096, 4096);
        }
        h.sender().sendLivePages(migration, "1", live, liveBytes, TransferOptions.defaults());
        TransferReport r = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).isEqualTo(1); // page 40
        try (var left = Files.list(h.receiverRoot.resolve(migration))) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("live-"));
        }
    }

    @Test
    void livePagesSentInAnyOrderAreCopiedIntoPlace() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 19);
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        long[] vaddrs = ImageScan.of(src, migration, 1).layoutOf("pages-1.img").orElseThrow().vaddrs();
        List<Integer> order = new ArrayList<>();
        for (int p = 0; p < SyntheticImage.PAGES; p++) order.add(p);
        java.util.Collections.shuffle(order, new java.util.Random(20));
        order.sort(java.util.Comparator.comparing(p -> p >= 200)); // pages 200.. stay in a run after the shuffled ones
        long[] live = new long[SyntheticImage.PAGES];
        byte[] liveBytes = new byte[SyntheticImage.PAGES * 4096];
        for (int k = 0; k < order.size(); k++) {
            live[k] = vaddrs[order.get(k)];
            System.arraycopy(pages, order.get(k) * 4096, liveBytes, k * 4096, 4096);
        }
        h.sender().sendLivePages(migration, "1", live, liveBytes, TransferOptions.defaults());
        SyntheticImage.dirty(src, 4, 21);
        TransferReport r = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).isBetween(1L, 4L);
        assertThat(r.pagesUnchanged()).isEqualTo(SyntheticImage.PAGES - 10 - r.pagesSent());
        try (var left = Files.list(h.receiverRoot.resolve(migration))) { // too far from file order to become the pages file
            assertThat(left.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("live-"));
        }
    }

    @Test
    void aHeldPageWhoseBytesWentBadAtTheReceiverIsRefusedNotPublishedAndSentAgain() throws Exception {
        heldPageGoesBad(false);
    }

    @Test
    void aHeldPageThatWentBadBeforeTheLivePagesWereReadBackIsRefused() throws Exception {
        // read back before the freeze (as a destination does as each live round ends): the final check takes those CRCs
        heldPageGoesBad(true);
    }

    /** Page 200 sent live goes bad at the receiver; {@code readBack}: then the receiver reads its live pages back. */
    private void heldPageGoesBad(boolean readBack) throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 14);
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        ImageScan.PagemapLayout layout = ImageScan.of(src, migration, 1).layoutOf("pages-1.img").orElseThrow();
        ImageSender sender = h.sender();
        sender.sendLivePages(migration, layout.space(), layout.vaddrs(), pages, TransferOptions.defaults());
        // The receiver's copy of page 200 changes on its disk: its digest, recorded when it came, still matches the
        // sender's, as a digest collision would. The page is not sent, so only the check of what was laid out sees it.
        corruptPage(onlyFile(h.receiverRoot.resolve(migration), "live-"), 200);
        if (readBack) assertThat(h.receiver.readBackLivePages(migration)).isEqualTo(layout.vaddrs().length);
        TransferOptions small = new TransferOptions(16 * 4096, true, true, 1, java.time.Duration.ofSeconds(30));
        assertThatThrownBy(() -> sender.send(migration, 1, src, small, TransferListener.NONE))
                .isInstanceOfSatisfying(TransferRefusedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.CORRUPT_CHUNK);
                    assertThat(e.file()).isEqualTo("pages-1.img");
                });
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        // Sent again, the pages of the refused chunk are no longer taken as held: they travel, and the image is right.
        TransferReport r = sender.send(migration, 1, src, small, TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).isPositive();
    }

    @Test
    void aHeldPageOfThePreviousRoundThatWentBadIsRefused() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 15);
        TransferReport r1 = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        corruptPage(Path.of(r1.receiverImageDir()).resolve("pages-1.img"), 200);
        SyntheticImage.dirty(src, 2, 16);
        assertThatThrownBy(() -> h.sender().send(migration, 2, src, TransferOptions.defaults(), TransferListener.NONE))
                .isInstanceOfSatisfying(TransferRefusedException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT_CHUNK));
        assertThat(h.receiver.publishedImage(migration)).contains(Path.of(r1.receiverImageDir()));
    }

    private static Path onlyFile(Path dir, String prefix) throws java.io.IOException {
        try (var s = Files.list(dir)) {
            List<Path> found = s.filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
            assertThat(found).hasSize(1);
            return found.get(0);
        }
    }

    private static void corruptPage(Path file, int page) throws java.io.IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            long pos = (long) page * 4096 + 123;
            ch.read(b, pos);
            b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
            ch.write(b, pos);
        }
    }

    @Test
    void aBrokenStreamResumesFromTheLastVerifiedChunk() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 4);
        // big enough for many chunks: 64 KiB chunks over ~1 MiB of pages
        TransferOptions small = new TransferOptions(64 * 1024, false, true, 3, java.time.Duration.ofSeconds(30));
        h.breakAfterChunks.set(9);
        TransferReport r = h.sender().send(migration, 1, src, small, TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(r.resumedBytes()).isGreaterThan(0);
        // everything is sent about once: far less than twice the pages file
        assertThat(r.payloadBytes()).isLessThan(SyntheticImage.PAGES * 4096L + 64 * 1024);
    }

    @Test
    void symbolicLinksInTheImageAreRefusedBySender() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 5);
        Files.createSymbolicLink(src.resolve("evil.img"), Path.of("/etc/passwd"));
        assertThatThrownBy(() -> h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE))
                .isInstanceOfSatisfying(TransferRefusedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.NOT_A_REGULAR_FILE);
                    assertThat(e.file()).isEqualTo("evil.img");
                });
    }

    @Test
    void namesEscapingTheImageDirectoryAreRefused() {
        for (String bad : List.of("../x.img", "/etc/passwd", "a/b.img", "..", ".", "", "x\u0000.img")) {
            BeginRequest req = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                    Manifest.newBuilder().addFiles(FileEntry.newBuilder().setName(bad).setLength(1)
                            .setSha256(com.google.protobuf.ByteString.copyFrom(new byte[32])))).build();
            assertThatThrownBy(() -> h.blocking().begin(req)).as(bad)
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getTrailers().get(Refusals.REASON)).isEqualTo("BAD_NAME"));
        }
        BeginRequest escapingMigration = BeginRequest.newBuilder().setMigrationId("../other").setRound(1).build();
        assertThatThrownBy(() -> h.blocking().begin(escapingMigration)).isInstanceOf(StatusRuntimeException.class);
        assertThat(h.receiverRoot.getParent().resolve("other")).doesNotExist();
    }

    @Test
    void corruptReorderedOversizedAndTruncatedChunksAreRefusedAndNothingIsPublished() throws Exception {
        byte[] content = new byte[10000];
        new java.util.Random(9).nextBytes(content);
        BeginRequest begin = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                new ImageManifest(List.of(new ImageManifest.File("core-1.img", content.length,
                        ReceiveSession.sha256().digest(content)))).toProto()).build();
        long attempt = h.blocking().begin(begin).getAttempt();
        byte[] first = java.util.Arrays.copyOf(content, 4000);
        byte[] second = java.util.Arrays.copyOfRange(content, 4000, 8000);

        Chunk good = TransferHarness.plainChunk(migration, 1, attempt, 0, 0, first);
        assertRefused(List.of(good.toBuilder().setCrc32C(good.getCrc32C() ^ 1).build()), Reason.CORRUPT_CHUNK);
        assertRefused(List.of(good.toBuilder().setPayload(good.getPayload().substring(0, 3000)).build()), Reason.CORRUPT_CHUNK);
        assertRefused(List.of(TransferHarness.plainChunk(migration, 1, attempt, 0, 4000, second)), Reason.OUT_OF_ORDER);
        assertRefused(List.of(TransferHarness.plainChunk(migration, 1, attempt, 0, 0, new byte[10001])), Reason.OVERSIZED);
        assertRefused(List.of(good.toBuilder().setLength(ChunkCodec.MAX_CHUNK_BYTES + 4096).build()), Reason.OVERSIZED);
        assertRefused(List.of(good.toBuilder().setFileIndex(7).build()), Reason.CORRUPT_CHUNK);

        // Good chunks are taken; a stream ending early leaves the file truncated and the round unpublished.
        assertThat(h.upload(List.of(good, TransferHarness.plainChunk(migration, 1, attempt, 0, 4000, second))).get(10, TimeUnit.SECONDS)
                .getBytes()).isEqualTo(8000);
        assertThatThrownBy(() -> h.blocking().commit(CommitRequest.newBuilder().setMigrationId(migration).setRound(1).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getTrailers().get(Refusals.REASON)).isEqualTo("TRUNCATED"));
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        assertThat(h.receiverRoot.resolve(migration).resolve("round-1")).doesNotExist();

        // A replayed chunk is out of order; the resume point stays at the last verified byte.
        assertRefused(List.of(good), Reason.OUT_OF_ORDER);
        BeginResponse resumed = h.blocking().begin(begin);
        assertThat(resumed.getFiles(0).getVerifiedBytes()).isEqualTo(8000);
        // chunks of the attempt before this Begin no longer count, even at the right offset
        assertRefused(List.of(TransferHarness.plainChunk(migration, 1, attempt, 0, 8000, new byte[2000])), Reason.OUT_OF_ORDER);
        attempt = resumed.getAttempt();

        // A last chunk whose content differs (right CRC, wrong file digest) fails the file, not just the chunk.
        byte[] wrongTail = new byte[2000];
        assertRefused(List.of(TransferHarness.plainChunk(migration, 1, attempt, 0, 8000, wrongTail)), Reason.FILE_DIGEST_MISMATCH);
        assertThat(h.blocking().begin(begin).getFiles(0).getVerifiedBytes()).isZero();
    }

    @Test
    void aFileInOneChunkWhoseContentDiffersFromTheManifestIsRefusedAndSentAgain() throws Exception {
        // one chunk, right CRC: hashed as it is taken, not on the hashing thread, and checked all the same
        byte[] content = new byte[3000];
        new java.util.Random(10).nextBytes(content);
        BeginRequest begin = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                new ImageManifest(List.of(new ImageManifest.File("core-1.img", content.length,
                        ReceiveSession.sha256().digest(content)))).toProto()).build();
        long attempt = h.blocking().begin(begin).getAttempt();
        byte[] other = content.clone();
        other[1234] ^= 1;
        assertRefused(List.of(TransferHarness.plainChunk(migration, 1, attempt, 0, 0, other)), Reason.FILE_DIGEST_MISMATCH);
        BeginResponse again = h.blocking().begin(begin);
        assertThat(again.getFiles(0).getVerifiedBytes()).isZero();
        assertThat(h.upload(List.of(TransferHarness.plainChunk(migration, 1, again.getAttempt(), 0, 0, content)))
                .get(10, TimeUnit.SECONDS).getBytes()).isEqualTo(content.length);
        assertThat(h.blocking().begin(begin).getFiles(0).getComplete()).isTrue();
    }

    @Test
    void aPagesFileWhoseDigestGivenAtCommitDiffersIsRefusedAndSentAgain() throws Exception {
        byte[] pages = new byte[2 * 4096];
        new java.util.Random(4).nextBytes(pages);
        BeginRequest begin = BeginRequest.newBuilder().setMigrationId(migration).setRound(1).setManifest(
                new ImageManifest(List.of(new ImageManifest.File("pages-1.img", pages.length, new byte[0]))).toProto()).build();
        long attempt = h.blocking().begin(begin).getAttempt();
        h.upload(List.of(TransferHarness.plainChunk(migration, 1, attempt, 0, 0, pages))).get(10, TimeUnit.SECONDS);
        CommitRequest noDigest = CommitRequest.newBuilder().setMigrationId(migration).setRound(1).build();
        assertThatThrownBy(() -> h.blocking().commit(noDigest)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getTrailers().get(Refusals.REASON)).isEqualTo("BAD_MANIFEST"));
        CommitRequest wrong = noDigest.toBuilder().addDigests(org.migrationmesh.proto.transfer.FileDigest.newBuilder()
                .setFileIndex(0).setSha256(com.google.protobuf.ByteString.copyFrom(new byte[32]))).build();
        assertThatThrownBy(() -> h.blocking().commit(wrong)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getTrailers().get(Refusals.REASON)).isEqualTo("FILE_DIGEST_MISMATCH"));
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        assertThat(h.blocking().begin(begin).getFiles(0).getVerifiedBytes()).isZero();
    }

    private void assertRefused(List<Chunk> chunks, Reason reason) throws InterruptedException {
        try {
            h.upload(chunks).get(10, TimeUnit.SECONDS);
            throw new AssertionError("chunks were accepted, expected refusal " + reason);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOfSatisfying(StatusRuntimeException.class,
                    s -> assertThat(s.getTrailers().get(Refusals.REASON)).isEqualTo(reason.name()));
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no answer to hostile chunks", e);
        }
    }
}
