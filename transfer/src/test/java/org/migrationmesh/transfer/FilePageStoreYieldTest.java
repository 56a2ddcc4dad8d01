package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** When the live pages of an address space become the pages file as they lie, and when they must stay held. */
class FilePageStoreYieldTest {
    @TempDir
    Path tmp;

    private static final int HELD = 64;

    /** A store holding pages 0x1000.. (HELD of them) read live, in address order; their content is {@code pages}. */
    private static FilePageStore liveStore(Path dir, byte[] pages) throws Exception {
        Files.createDirectories(dir);
        FilePageStore store = new FilePageStore(dir);
        for (int i = 0; i < HELD; i++) store.putLive(new PageKey("1", 0x1000L * (i + 1)), pages, i * 4096);
        return store;
    }

    private static long[][] file(byte[] pages, int count) {
        long[] vaddrs = new long[count];
        long[] digests = new long[count];
        for (int i = 0; i < count; i++) {
            vaddrs[i] = 0x1000L * (i + 1);
            digests[i] = PageHash.of(pages, i * 4096);
        }
        return new long[][] {vaddrs, digests};
    }

    /** A store started from a parent image file {@code parentFile} of the pages {@code parent} at 0x1000... */
    private FilePageStore parentStore(Path parentFile, byte[] parent) throws Exception {
        Files.write(parentFile, parent);
        Files.createDirectories(tmp.resolve("store"));
        FilePageStore store = new FilePageStore(tmp.resolve("store"));
        store.adoptParent(parentFile, "1", file(parent, parent.length / 4096)[0]);
        return store;
    }

    @Test
    void theLiveFileBecomesAPagesFileThatTakesItsPages() throws Exception {
        byte[] pages = new byte[HELD * 4096];
        new Random(5).nextBytes(pages);
        try (FilePageStore store = liveStore(tmp.resolve("store"), pages)) {
            long[][] f = file(pages, HELD - 2); // a dump with two pages fewer at the end than were read live
            Path target = tmp.resolve("pages-1.img");
            assertThat(store.yieldLiveFile("1", f[0], f[1], target)).hasValueSatisfying(y -> assertThat(y.inPlace().cardinality()).isEqualTo(HELD - 2));
            assertThat(Files.size(target)).isGreaterThanOrEqualTo((HELD - 2) * 4096L);
        }
    }

    @Test
    void aLazyDumpsFewPagesDoNotTakeTheLiveFileTheRestoreStillNeeds() throws Exception {
        byte[] pages = new byte[HELD * 4096];
        new Random(6).nextBytes(pages);
        try (FilePageStore store = liveStore(tmp.resolve("store"), pages)) {
            // A lazy dump's pages file: only the first three pages (say, the text page CRIU's injection
            // copied and two of the data segment), in place at the live file's start.
            long[][] f = file(pages, 3);
            assertThat(store.yieldLiveFile("1", f[0], f[1], tmp.resolve("pages-1.img"))).isEmpty();
            assertThat(store.holds(new PageKey("1", 0x1000L * HELD), PageHash.of(pages, (HELD - 1) * 4096)))
                    .as("the lazy pages are still held for the restore").isTrue();
        }
    }

    @Test
    void aRevisitsLivePagesPlacedAmongTheParentsBecomeThePagesFileInPlace() throws Exception {
        byte[] parent = new byte[HELD * 4096];
        new Random(7).nextBytes(parent);
        Path parentFile = tmp.resolve("parent.pages");
        long[] at = file(parent, HELD)[0];
        try (FilePageStore store = parentStore(parentFile, parent)) {
            // Round 1 sends pages 10..19, changed since the parent image, and leaves the others out: held.
            byte[] now = parent.clone();
            byte[] changed = new byte[10 * 4096];
            new Random(8).nextBytes(changed);
            System.arraycopy(changed, 0, now, 10 * 4096, changed.length);
            assertThat(store.putLiveHeld("1", at, 0, 10)).isEqualTo(10);
            for (int i = 10; i < 20; i++) store.putLive(new PageKey("1", at[i]), now, i * 4096);
            assertThat(store.putLiveHeld("1", at, 20, HELD)).isEqualTo(HELD - 20);
            long[][] f = file(now, HELD);
            Path target = tmp.resolve("pages-1.img");
            assertThat(store.yieldLiveFile("1", f[0], f[1], target)).hasValueSatisfying(y -> assertThat(y.inPlace().cardinality()).isEqualTo(HELD));
            assertThat(Files.readAllBytes(target)).isEqualTo(now);
            assertThat(Files.readAllBytes(parentFile)).as("the parent image is read, not changed").isEqualTo(parent);
        }
    }

    @Test
    void laidOutAheadOfAStopAndCopyDumpAPageNotHeldKeepsItsPlaceEmpty() throws Exception {
        byte[] parent = new byte[HELD * 4096];
        new Random(11).nextBytes(parent);
        long[] at = file(parent, HELD)[0];
        try (FilePageStore store = parentStore(tmp.resolve("parent.pages"), parent)) {
            // The dump to come has a page more, between the 30th and the 31st: its addresses, in file order.
            long added = 0x1000L * 30 + 0x800_0000L;
            long[] dump = new long[HELD + 1];
            for (int i = 0, j = 0; i < dump.length; i++) dump[i] = i == 30 ? added : at[j++];
            dump = java.util.Arrays.stream(dump).sorted().toArray();
            int addedAt = java.util.Arrays.binarySearch(dump, added);
            assertThat(store.putLiveHeld("1", dump, 0, dump.length)).isEqualTo(HELD);
            long[] digests = new long[dump.length];
            byte[] now = new byte[dump.length * 4096];
            for (int i = 0, j = 0; i < dump.length; i++) {
                if (i == addedAt) continue;
                System.arraycopy(parent, j * 4096, now, i * 4096, 4096);
                digests[i] = PageHash.of(parent, j++ * 4096);
            }
            digests[addedAt] = PageHash.of(new byte[4096], 0) ^ 1; // content the store does not have
            Path target = tmp.resolve("pages-1.img");
            assertThat(store.yieldLiveFile("1", dump, digests, target))
                    .hasValueSatisfying(y -> {
                        assertThat(y.inPlace().cardinality()).isEqualTo(HELD);
                        assertThat(y.inPlace().get(addedAt)).as("the new page is for the final image to bring").isFalse();
                    });
            byte[] laid = java.util.Arrays.copyOf(Files.readAllBytes(target), now.length);
            assertThat(laid).as("every held page where the dump puts it, the new one's place empty").isEqualTo(now);
        }
    }

    @Test
    void aPageFreedAndOneMappedSinceTheRoundShiftTheLivePagesByRangeEditsNotCopies() throws Exception {
        int live = 5120; // as the tour's game server: more pages shift than the store would move one by one
        byte[] pages = new byte[live * 4096];
        new Random(12).nextBytes(pages);
        Files.createDirectories(tmp.resolve("store"));
        try (FilePageStore store = new FilePageStore(tmp.resolve("store"))) {
            for (int i = 0; i < live; i++) store.putLive(new PageKey("1", 0x1000L * (i + 1)), pages, i * 4096);
            // The dump lacks live page 5 (freed) and has a page at 0x2000_0000 (mapped since), after the live ones.
            long[] vaddrs = new long[live];
            long[] digests = new long[live];
            byte[] now = new byte[live * 4096];
            for (int i = 0, q = 0; i < live; i++) {
                if (q == 5) q++;
                if (i == live - 1) {
                    vaddrs[i] = 0x2000_0000L;
                    digests[i] = 1;
                    continue;
                }
                vaddrs[i] = 0x1000L * (q + 1);
                digests[i] = PageHash.of(pages, q * 4096);
                System.arraycopy(pages, q * 4096, now, i * 4096, 4096);
                q++;
            }
            Path target = tmp.resolve("pages-1.img");
            assertThat(store.yieldLiveFile("1", vaddrs, digests, target))
                    .hasValueSatisfying(y -> assertThat(y.inPlace().cardinality()).isEqualTo(live - 1));
            byte[] laid = java.util.Arrays.copyOf(Files.readAllBytes(target), (live - 1) * 4096);
            assertThat(laid).as("every page after the freed one a page earlier, as the dump has it")
                    .isEqualTo(java.util.Arrays.copyOf(now, (live - 1) * 4096));
        }
    }
}
