package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The page digests and CRC32Cs a scan computes through mappings, in blocks over threads, are those
 * of the bytes: each page against {@link PageHash#of(byte[], int)} and a CRC32C of its own bytes,
 * across blocks, files and threads and in files of a few pages; mapped pages give a range's CRC32C.
 */
class PagesFileScanTest {
    @TempDir
    Path tmp;

    @Test
    void aPageDigestsTheSameFromABufferAsFromAnArray() {
        Random r = new Random(3);
        byte[] bytes = new byte[3 * PageHash.PAGE_SIZE + 8];
        r.nextBytes(bytes);
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).position(5); // position ignored
        for (int off : new int[] {0, 8, PageHash.PAGE_SIZE, 2 * PageHash.PAGE_SIZE + 8}) {
            assertThat(PageHash.of(ByteBuffer.wrap(bytes), off)).as("heap at %d", off).isEqualTo(PageHash.of(bytes, off));
            assertThat(PageHash.of(direct, off)).as("direct at %d", off).isEqualTo(PageHash.of(bytes, off));
        }
        assertThat(PageHash.of(ByteBuffer.allocateDirect(PageHash.PAGE_SIZE), 0)).isEqualTo(PageHash.ZERO);
    }

    @Test
    void theScanDigestsAndChecksEveryPageAcrossItsParts() throws Exception {
        Path dir = tmp.resolve("image");
        Files.createDirectories(dir);
        byte[] big = pages(2100, 1); // split over threads where there are two cores or more, not at a read's bounds
        java.util.Arrays.fill(big, 7 * PageHash.PAGE_SIZE, 9 * PageHash.PAGE_SIZE, (byte) 0);
        byte[] small = pages(3, 2);
        Files.write(dir.resolve("pages-1.img"), big);
        Files.write(dir.resolve("pages-2.img"), small);
        Files.write(dir.resolve("pages-3.img"), new byte[0]);
        Files.write(dir.resolve("core-1.img"), new byte[] {1, 2, 3});

        ImageScan scan = ImageScan.of(dir, "m", 1);

        for (String name : new String[] {"pages-1.img", "pages-2.img"}) {
            byte[] bytes = Files.readAllBytes(dir.resolve(name));
            long[] digests = scan.pageDigests().get(name);
            int[] crcs = scan.pageCrcs().get(name);
            assertThat(digests).hasSize(bytes.length / PageHash.PAGE_SIZE);
            assertThat(crcs).hasSize(digests.length);
            for (int p = 0; p < digests.length; p++) {
                assertThat(digests[p]).as("%s page %d digest", name, p).isEqualTo(PageHash.of(bytes, p * PageHash.PAGE_SIZE));
                assertThat(crcs[p]).as("%s page %d CRC32C", name, p).isEqualTo(PageCrcs.of(bytes, p * PageHash.PAGE_SIZE));
            }
        }
        assertThat(scan.pageDigests().get("pages-1.img")[8]).isEqualTo(PageHash.ZERO);
        assertThat(scan.pageDigests().get("pages-3.img")).isEmpty();
        assertThat(scan.pageCrcs().get("pages-3.img")).isEmpty();
        assertThat(scan.pageCrcs()).doesNotContainKey("core-1.img");
        assertThat(scan.manifest().files()).extracting(ImageManifest.File::name)
                .containsExactly("core-1.img", "pages-1.img", "pages-2.img", "pages-3.img");
    }

    @Test
    void theDigestsAndCrcsOfMappedPagesAreThoseOfTheirBytesComputedOnePageAtATime() throws Exception {
        int n = 40;
        byte[] bytes = pages(n, 11);
        java.util.Arrays.fill(bytes, 3 * PageHash.PAGE_SIZE, 4 * PageHash.PAGE_SIZE, (byte) 0); // a zero page
        java.util.Arrays.fill(bytes, 5 * PageHash.PAGE_SIZE, 6 * PageHash.PAGE_SIZE, (byte) 0);
        bytes[5 * PageHash.PAGE_SIZE + PageHash.HALF] = 1; // one bit, first of the second half
        java.util.Arrays.fill(bytes, 7 * PageHash.PAGE_SIZE, 8 * PageHash.PAGE_SIZE, (byte) 0xFF);
        Path file = tmp.resolve("pages-9.img");
        Files.write(file, bytes);
        long[] digests = new long[n];
        int[] crcs = new int[n];
        try (FileChannel ch = FileChannel.open(file); MappedPages mapped = MappedPages.map(ch, 0, n)) {
            mapped.digest(2, n - 2, digests, crcs, new java.util.zip.CRC32C());
        }
        for (int p = 2; p < n; p++) {
            assertThat(digests[p]).as("digest of page %d", p).isEqualTo(PageHash.of(bytes, p * PageHash.PAGE_SIZE));
            assertThat(crcs[p]).as("CRC32C of page %d", p).isEqualTo(ChunkCodec.crc32c(bytes, p * PageHash.PAGE_SIZE, PageHash.PAGE_SIZE));
        }
        assertThat(digests[3]).isEqualTo(PageHash.ZERO);
        assertThat(digests[0]).as("left alone").isZero();
    }

    @Test
    void aLongRangeIsCheckedInTwoHalvesWithTheCrcOfTheWhole() throws Exception {
        int n = MappedPages.SPLIT_PAGES * 2 + 3; // odd: the halves differ in length
        byte[] bytes = pages(n, 5);
        Path file = tmp.resolve("pages-2.img");
        Files.write(file, bytes);
        try (FileChannel ch = FileChannel.open(file, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
             MappedPages mapped = MappedPages.map(ch, 0, n)) {
            assertThat(mapped.crc32c(0, n)).isEqualTo(ChunkCodec.crc32c(bytes, 0, bytes.length));
            assertThat(mapped.crc32c(1, MappedPages.SPLIT_PAGES))
                    .isEqualTo(ChunkCodec.crc32c(bytes, PageHash.PAGE_SIZE, MappedPages.SPLIT_PAGES * PageHash.PAGE_SIZE));
            int at = (n / 2 + 1) * PageHash.PAGE_SIZE + 9; // a bit in the second half, in the file too
            bytes[at] ^= 1;
            ch.write(java.nio.ByteBuffer.wrap(bytes, at, 1), at);
            assertThat(mapped.crc32c(0, n)).isEqualTo(ChunkCodec.crc32c(bytes, 0, bytes.length));
        }
    }

    @Test
    void mappedPagesAnswerOnlyForTheirRangeAndNotOnceClosed() throws Exception {
        byte[] bytes = pages(6, 4);
        Path file = tmp.resolve("pages-1.img");
        Files.write(file, bytes);
        try (FileChannel ch = FileChannel.open(file)) {
            MappedPages mapped = MappedPages.map(ch, 2, 3);
            assertThat(mapped.crc32c(2, 3)).isEqualTo(ChunkCodec.crc32c(bytes, 2 * PageHash.PAGE_SIZE, 3 * PageHash.PAGE_SIZE));
            assertThat(mapped.crc32c(4, 1)).isEqualTo(PageCrcs.of(bytes, 4 * PageHash.PAGE_SIZE));
            assertThatThrownBy(() -> mapped.crc32c(1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> mapped.crc32c(4, 2)).isInstanceOf(IndexOutOfBoundsException.class);
            mapped.close();
            assertThatThrownBy(() -> mapped.crc32c(2, 1)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> MappedPages.map(ch, 5, 2)).isInstanceOf(java.io.IOException.class);
        }
    }

    private static byte[] pages(int n, long seed) {
        byte[] b = new byte[n * PageHash.PAGE_SIZE];
        new Random(seed).nextBytes(b);
        return b;
    }
}
