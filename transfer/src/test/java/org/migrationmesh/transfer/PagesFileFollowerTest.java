package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pages files followed while they are written (as CRIU appends to them) give the digests and
 * CRC32Cs a scan of the finished files gives, and the scan then reads only the rest; what was
 * digested does not count for a file that turned out shorter.
 */
class PagesFileFollowerTest {
    @TempDir
    Path tmp;

    @Test
    void pagesDigestedWhileWrittenAreThoseOfTheFinishedImage() throws Exception {
        Path dir = tmp.resolve("images"); // created after the follower starts, as CRIU's image directory is
        PagesFileFollower follower = PagesFileFollower.start(dir);
        Random r = new Random(7);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("core-1.img"), "not pages");
        byte[] slice = new byte[50 * PageHash.PAGE_SIZE + 100]; // a write that ends inside a page
        try (OutputStream one = Files.newOutputStream(dir.resolve("pages-1.img"));
             OutputStream two = Files.newOutputStream(dir.resolve("pages-2.img"))) {
            for (int k = 0; k < 30; k++) {
                r.nextBytes(slice);
                one.write(slice);
                one.flush();
                if (k % 3 == 0) {
                    two.write(slice, 0, 3 * PageHash.PAGE_SIZE);
                    two.flush();
                }
                Thread.sleep(3);
            }
            one.write(new byte[PageHash.PAGE_SIZE - (30 * 100) % PageHash.PAGE_SIZE]); // whole pages in the end
        }
        Thread.sleep(20);
        Map<String, PagesFileFollower.Digested> ahead = follower.stop();
        assertThat(ahead).containsOnlyKeys("pages-1.img", "pages-2.img");
        assertThat(ahead.get("pages-1.img").pages()).as("pages digested while written").isPositive();
        assertThat(follower.stop()).as("stopped once").isSameAs(ahead);

        ImageScan followed = ImageScan.of(dir, "m", 1, ahead);
        ImageScan whole = ImageScan.of(dir, "m", 1);
        assertThat(followed.manifest().toProto()).isEqualTo(whole.manifest().toProto());
        for (String name : new String[] {"pages-1.img", "pages-2.img"}) {
            assertThat(followed.pageDigests().get(name)).as(name).isEqualTo(whole.pageDigests().get(name));
            assertThat(followed.pageCrcs().get(name)).as(name).isEqualTo(whole.pageCrcs().get(name));
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(20)
    void aFifoAtAPagesImagesPathIsNotOpenedAndTheFileThatReplacesItIsFollowed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("images"));
        Path fifo = dir.resolve("pages-1.img");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        PagesFileFollower follower = PagesFileFollower.start(dir); // there before: a file still, not the FIFO
        Thread.sleep(20); // a few listings see the FIFO (opening it would wait for a writer that never comes)
        byte[] pages = new byte[16 * PageHash.PAGE_SIZE];
        new Random(10).nextBytes(pages);
        Path filling = Files.write(tmp.resolve("pages-1.img.filling"), pages);
        Files.move(filling, fifo, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Thread.sleep(200); // listed every 2 ms, 64 pages digested a step
        Map<String, PagesFileFollower.Digested> ahead = follower.stop();
        assertThat(ahead).as("the file followed, once there").containsOnlyKeys("pages-1.img");
        assertThat(ahead.get("pages-1.img").pages()).isEqualTo(16);
        assertThat(ahead.get("pages-1.img").digests()[15]).isEqualTo(PageHash.of(pages, 15 * PageHash.PAGE_SIZE));
    }

    @Test
    void aFileMadeWholeSizeBeforehandIsReadOnlyBelowTheBytesWritten() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("images"));
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        PagesFileFollower follower = PagesFileFollower.start(dir, Map.of("pages-1.img", written::get));
        byte[] pages = new byte[32 * PageHash.PAGE_SIZE];
        new Random(11).nextBytes(pages);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve("pages-1.img"),
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(java.nio.ByteBuffer.allocate(64 * PageHash.PAGE_SIZE)); // zeros: 64 pages made beforehand
            ch.write(java.nio.ByteBuffer.wrap(pages, 0, 8 * PageHash.PAGE_SIZE), 0);
            written.set(8L * PageHash.PAGE_SIZE + 100); // eight pages and part of the ninth
            Thread.sleep(100);
            ch.write(java.nio.ByteBuffer.wrap(pages, 8 * PageHash.PAGE_SIZE, 24 * PageHash.PAGE_SIZE), 8L * PageHash.PAGE_SIZE);
            written.set(pages.length);
            Thread.sleep(100);
            ch.truncate(pages.length); // cut to what was written, at the end
        }
        Map<String, PagesFileFollower.Digested> ahead = follower.stop();
        assertThat(ahead.get("pages-1.img").pages()).as("no page beyond those written").isEqualTo(32);
        ImageScan whole = ImageScan.of(dir, "m", 1);
        assertThat(Arrays.copyOf(ahead.get("pages-1.img").digests(), 32)).as("the pages written, not the zeros made before them")
                .isEqualTo(whole.pageDigests().get("pages-1.img"));
    }

    @Test
    void digestsOfMorePagesThanAFileHoldsAreNotUsed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("images"));
        byte[] pages = new byte[4 * PageHash.PAGE_SIZE];
        new Random(8).nextBytes(pages);
        Files.write(dir.resolve("pages-1.img"), pages);
        PagesFileFollower.Digested stale = new PagesFileFollower.Digested(new long[8], new int[8], 8);
        ImageScan scan = ImageScan.of(dir, "m", 1, Map.of("pages-1.img", stale));
        assertThat(scan.pageDigests().get("pages-1.img")).isEqualTo(ImageScan.of(dir, "m", 1).pageDigests().get("pages-1.img"));
        assertThat(scan.pageDigests().get("pages-1.img")[0]).isEqualTo(PageHash.of(pages, 0));
    }

    @Test
    void aPagesFileThereBeforeItStartedOrThatShrinksIsLeftToTheScan() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("images"));
        byte[] pages = new byte[64 * PageHash.PAGE_SIZE];
        new Random(9).nextBytes(pages);
        Files.write(dir.resolve("pages-1.img"), pages); // from an earlier dump: may be truncated and written again
        PagesFileFollower follower = PagesFileFollower.start(dir);
        Files.write(dir.resolve("pages-2.img"), pages);
        Thread.sleep(50); // read whole by now (a turn reads 64 pages, every 200 µs when idle)
        Files.write(dir.resolve("pages-2.img"), java.util.Arrays.copyOf(pages, 8 * PageHash.PAGE_SIZE)); // truncated
        Thread.sleep(20);
        Files.write(dir.resolve("pages-2.img"), pages, StandardOpenOption.APPEND); // and longer than before again
        Thread.sleep(20);
        assertThat(follower.stop()).as("neither the old file nor the one that shrank").isEmpty();
    }

    @Test
    void aFollowerStoppedBeforeAnythingWasWrittenDigestedNothing() {
        PagesFileFollower follower = PagesFileFollower.start(tmp.resolve("never"));
        assertThat(follower.stop()).isEmpty();
        follower.close();
    }
}
