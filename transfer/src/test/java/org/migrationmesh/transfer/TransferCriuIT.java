package org.migrationmesh.transfer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.FileEntry;
import org.migrationmesh.transfer.TransferRefusedException.Reason;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Real CRIU images of a real running process (two dumps a few seconds apart) sent over loopback
 * gRPC: rebuilt byte-identical in both rounds, the second round carrying only changed pages, and
 * every kind of hostile input refused with nothing published.
 */
class TransferCriuIT {
    @TempDir
    static Path images;
    static Path round1;
    static Path round2;
    static long changedPages;

    @TempDir
    Path tmp;
    TransferHarness h;
    String migration;

    @BeforeAll
    static void dumpTwice() throws Exception {
        Path memhog = RealCheckpoints.buildMemhog(images.resolve("bin"));
        try (RealCheckpoints proc = RealCheckpoints.start(memhog, 64, 256)) {
            round1 = images.resolve("round1");
            round2 = images.resolve("round2");
            proc.dump(round1);
            Thread.sleep(3000);
            proc.dump(round2);
        }
        changedPages = RealCheckpoints.changedPages(round1, round2);
    }

    @BeforeEach
    void start() throws Exception {
        h = TransferHarness.loopback(tmp.resolve("receiver"));
        migration = "it-" + UUID.randomUUID();
    }

    @AfterEach
    void stop() throws Exception {
        h.close();
    }

    @Test
    void twoRealRoundsAreRebuiltByteIdenticalAndTheSecondCarriesOnlyChangedPages() throws Exception {
        TransferReport r1 = h.sender().send(migration, 1, round1, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(round1, Path.of(r1.receiverImageDir()));
        assertThat(r1.pages()).isGreaterThan(64 * 256);
        assertThat(r1.pagesUnchanged()).isZero();

        TransferReport r2 = h.sender().send(migration, 2, round2, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(round2, Path.of(r2.receiverImageDir()));
        assertThat(changedPages).as("memhog dirtied pages between the dumps").isGreaterThan(100);
        assertThat(r2.pagesSent()).isLessThanOrEqualTo(changedPages);
        assertThat(r2.pagesSent() + r2.pagesDuplicate() + r2.pagesZero()).isGreaterThanOrEqualTo(changedPages);
        assertThat(r2.pagesUnchanged()).isEqualTo(r2.pages() - changedPages);
        assertThat((double) r2.wireBytes()).isLessThan(1.2 * changedPages * PageHash.PAGE_SIZE);
    }

    @Test
    void aBrokenStreamOfARealImageResumes() throws Exception {
        h.breakAfterChunks.set(40);
        TransferReport r = h.sender().send(migration, 1, round1, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(round1, Path.of(r.receiverImageDir()));
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(r.resumedBytes()).isGreaterThan(1L << 20);
        // what was resent is at most what was in flight when the stream broke (window + on-ready threshold)
        assertThat(r.payloadBytes()).isLessThan(r.logicalBytes() + (24L << 20));
    }

    @Test
    void corruptPageChunkIsRefused() {
        assertTamperedRefused((n, c) -> {
            if (n != 3) return List.of(c);
            byte[] p = c.getPayload().toByteArray();
            p[p.length / 2] ^= 0x40;
            return List.of(c.toBuilder().setPayload(com.google.protobuf.ByteString.copyFrom(p)).build());
        }, Reason.CORRUPT_CHUNK);
    }

    @Test
    void reorderedPageChunksAreRefused() {
        Chunk[] held = new Chunk[1];
        assertTamperedRefused((n, c) -> {
            if (n == 2) {
                held[0] = c;
                return List.of();
            }
            return n == 3 ? List.of(c, held[0]) : List.of(c);
        }, Reason.OUT_OF_ORDER);
    }

    @Test
    void oversizedPageChunkIsRefused() {
        assertTamperedRefused((n, c) -> n == 1 ? List.of(c.toBuilder().setLength(c.getLength() + ChunkCodec.MAX_CHUNK_BYTES).build())
                : List.of(c), Reason.OVERSIZED);
    }

    @Test
    void truncatedImageIsRefusedAtCommit() {
        // the last page chunk never arrives
        long pageChunks = (round1.resolve("pages-1.img").toFile().length() + (1 << 20) - 1) >> 20;
        assertTamperedRefused((n, c) -> n == pageChunks - 1 ? List.of() : List.of(c), Reason.TRUNCATED);
    }

    @Test
    void namesAndLinksEscapingTheImageAreRefused() throws Exception {
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy);
        try (var s = Files.list(round1)) {
            for (Path p : s.toList()) Files.copy(p, copy.resolve(p.getFileName()));
        }
        Files.createSymbolicLink(copy.resolve("core-9.img"), Path.of("/etc/shadow"));
        assertThatThrownBy(() -> h.sender().send(migration, 1, copy, TransferOptions.defaults(), TransferListener.NONE))
                .isInstanceOfSatisfying(TransferRefusedException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NOT_A_REGULAR_FILE));

        ImageManifest real = ImageScan.of(round1, migration, 1).manifest();
        for (String bad : List.of("../pages-1.img", "/tmp/pages-1.img", "sub/pages-1.img")) {
            var m = real.toProto().toBuilder().addFiles(FileEntry.newBuilder().setName(bad).setLength(1)
                    .setSha256(com.google.protobuf.ByteString.copyFrom(new byte[32]))).build();
            assertThatThrownBy(() -> h.blocking().begin(BeginRequest.newBuilder().setMigrationId(migration).setRound(1)
                    .setManifest(m).build()))
                    .as(bad).hasMessageContaining("BAD_NAME");
        }
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
    }

    private void assertTamperedRefused(BiFunction<Integer, Chunk, List<Chunk>> tamper, Reason reason) {
        h.tamperPageChunks = tamper;
        assertThatThrownBy(() -> h.sender().send(migration, 1, round1, TransferOptions.defaults().withCompress(false),
                TransferListener.NONE))
                .isInstanceOfSatisfying(TransferRefusedException.class, e -> assertThat(e.reason()).isEqualTo(reason));
        assertThat(h.receiver.publishedImage(migration)).isEmpty();
        assertThat(h.receiverRoot.resolve(migration).resolve("round-1")).doesNotExist();
    }
}
