package org.migrationmesh.transfer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Writes CRIU-format image directories for unit tests (real ones come from CRIU in the ITs). */
public final class SyntheticImage {
    static final int PAGES = 64 + 200;
    static final long[] RUNS = {0x400000L, 64, 0x600000L, 200};

    private SyntheticImage() {}

    /** pagemap-1.img / pages-1.img (random, zero, repeated and text pages), core and inventory files. */
    static void write(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(seed);
        byte[] pages = new byte[PAGES * PageHash.PAGE_SIZE];
        r.nextBytes(pages);
        for (int p = 10; p < 20; p++) java.util.Arrays.fill(pages, p * 4096, (p + 1) * 4096, (byte) 0);
        for (int p = 30; p < 40; p++) System.arraycopy(pages, 25 * 4096, pages, p * 4096, 4096);
        byte[] text = "the quick brown fox jumps over the lazy dog ".repeat(100).getBytes();
        for (int p = 100; p < 150; p++) System.arraycopy(text, 0, pages, p * 4096, 4096);
        Files.write(dir.resolve("pages-1.img"), pages);
        Files.write(dir.resolve("pagemap-1.img"), pagemap(1, new long[][] {
                {RUNS[0], RUNS[1], PagemapImage.PE_PRESENT}, {0x500000L, 16, 0}, {RUNS[2], RUNS[3], PagemapImage.PE_PRESENT}}));
        byte[] core = new byte[3000];
        r.nextBytes(core);
        Files.write(dir.resolve("core-1.img"), core);
        Files.write(dir.resolve("inventory.img"), "inventory".getBytes());
        Files.write(dir.resolve("empty.img"), new byte[0]);
    }

    /** Rewrites {@code n} random non-zero pages of pages-1.img with new random bytes. */
    static void dirty(Path dir, int n, long seed) throws IOException {
        Path p = dir.resolve("pages-1.img");
        byte[] pages = Files.readAllBytes(p);
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) {
            int page = 150 + r.nextInt(PAGES - 150);
            byte[] fresh = new byte[4096];
            r.nextBytes(fresh);
            System.arraycopy(fresh, 0, pages, page * 4096, 4096);
        }
        Files.write(p, pages);
    }

    /** A pagemap image: see {@link PagemapImage#encode}. */
    public static byte[] pagemap(long pagesId, long[][] entries) {
        return PagemapImage.encode(pagesId, entries);
    }
}
