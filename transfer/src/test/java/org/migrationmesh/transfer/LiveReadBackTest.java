package org.migrationmesh.transfer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Live pages read back before the freeze: the final image's check of a pages file yielded from
 * the live file reads back only the pages written since, and still sees the bytes as they lay in
 * the file when they were read.
 */
class LiveReadBackTest {
    private static final int PAGES = 600; // more than two read-back steps of 256
    @TempDir
    Path tmp;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();
    private final byte[] pages = new byte[PAGES * PageHash.PAGE_SIZE];
    private final long[] vaddrs = new long[PAGES];
    private final long[] digests = new long[PAGES];

    LiveReadBackTest() {
        new Random(21).nextBytes(pages);
        for (int i = 0; i < PAGES; i++) {
            vaddrs[i] = 0x10000L + 2L * i * PageHash.PAGE_SIZE; // a page left free after each
            digests[i] = PageHash.of(pages, i * PageHash.PAGE_SIZE);
        }
    }

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private FilePageStore liveStore() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("store"));
        FilePageStore store = new FilePageStore(dir);
        for (int i = 0; i < PAGES; i++) store.putLive(new PageKey("1", vaddrs[i]), pages, i * PageHash.PAGE_SIZE);
        return store;
    }

    /** The pages file laid out from the store's live file, every page held. */
    private StagedPages stagedFrom(FilePageStore store) {
        StagedPages staged = new StagedPages(tmp.resolve("pages-1.img"), "1", vaddrs);
        BitSet held = new BitSet();
        held.set(0, PAGES);
        staged.layOutInBackground(digests, held, 0, (long) PAGES * PageHash.PAGE_SIZE, store, executor);
        return staged;
    }

    private static int crc32c(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    private Path liveFile() throws Exception {
        try (Stream<Path> s = Files.list(tmp.resolve("store"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("live-")).findFirst().orElseThrow();
        }
    }

    private static void flipByte(Path file, long pos) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, pos);
            b.put(0, (byte) (b.get(0) ^ 0x40)).rewind();
            ch.write(b, pos);
        }
    }

    @Test
    void readBackLivePagesAreNotReadAgainButPagesWrittenSinceAre() throws Exception {
        try (FilePageStore store = liveStore()) {
            // one page sent live again after the read-back, as a later round would
            byte[] newer = new byte[PageHash.PAGE_SIZE];
            new Random(7).nextBytes(newer);
            assertThat(store.readBackLiveFiles()).isEqualTo(PAGES);
            assertThat(store.readBackLiveFiles()).as("nothing written since").isZero();
            store.putLive(new PageKey("1", vaddrs[10]), newer, 0);
            System.arraycopy(newer, 0, pages, 10 * PageHash.PAGE_SIZE, PageHash.PAGE_SIZE);
            digests[10] = PageHash.of(newer, 0);

            StagedPages staged = stagedFrom(store);
            // the final image rewrites three pages in place
            byte[] hot = new byte[3 * PageHash.PAGE_SIZE];
            new Random(8).nextBytes(hot);
            staged.write(300, hot, 0, 3);
            System.arraycopy(hot, 0, pages, 300 * PageHash.PAGE_SIZE, hot.length);

            assertThat(staged.crc32c(0, PAGES)).isEqualTo(crc32c(pages));
            int[] laidOut = staged.laidOut();
            assertThat(laidOut[0]).as("taken in place").isEqualTo(PAGES);
            assertThat(laidOut[2]).as("read back by the check: the page sent live since, and the three written").isEqualTo(4);
            staged.close();
        }
    }

    @Test
    void withoutAReadBackTheCheckReadsEveryPage() throws Exception {
        try (FilePageStore store = liveStore()) {
            StagedPages staged = stagedFrom(store);
            assertThat(staged.crc32c(0, PAGES)).isEqualTo(crc32c(pages));
            assertThat(staged.laidOut()[2]).isEqualTo(PAGES);
            staged.close();
        }
    }

    @Test
    void aPageThatWentBadBeforeTheReadBackFailsTheCheck() throws Exception {
        try (FilePageStore store = liveStore()) {
            flipByte(liveFile(), 123L * PageHash.PAGE_SIZE + 77);
            store.readBackLiveFiles();
            StagedPages staged = stagedFrom(store);
            assertThat(staged.laidOut()[0]).as("its digest, recorded as it came, still says it is held").isEqualTo(PAGES);
            assertThat(staged.crc32c(0, PAGES)).isNotEqualTo(crc32c(pages));
            assertThat(staged.laidOut()[2]).as("none read again").isZero();
            staged.close();
        }
    }

    @Test
    void rangeEditsKeepWhatWasReadBackOnlyBeforeTheFirstPlaceTheyTouch() throws Exception {
        try (FilePageStore store = liveStore()) {
            store.readBackLiveFiles();
            // the dump has one page more at page 400 (the process mapped it after the live round): the pages from
            // there on lie a page further in the pages file, which an edit of the live file makes room for
            long[] dumpVaddrs = new long[PAGES + 1];
            long[] dumpDigests = new long[PAGES + 1];
            for (int i = 0, j = 0; i <= PAGES; i++) {
                if (i == 400) {
                    dumpVaddrs[i] = vaddrs[399] + PageHash.PAGE_SIZE; // between two live pages
                    dumpDigests[i] = 1;
                    continue;
                }
                dumpVaddrs[i] = vaddrs[j];
                dumpDigests[i] = digests[j++];
            }
            var yielded = store.yieldLiveFile("1", dumpVaddrs, dumpDigests, tmp.resolve("pages-1.img"));
            assertThat(yielded).hasValueSatisfying(y -> {
                assertThat(y.readBack().nextClearBit(0)).as("read back and not moved").isEqualTo(400);
                assertThat(y.readBack().nextSetBit(400)).as("moved by the edit: read again").isEqualTo(-1);
                assertThat(y.readBackCrcs()[5]).isEqualTo(crc32c(java.util.Arrays.copyOfRange(pages, 5 * PageHash.PAGE_SIZE,
                        6 * PageHash.PAGE_SIZE)));
            });
        }
    }
}
