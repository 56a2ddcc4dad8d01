package org.migrationmesh.transfer;

import java.util.Arrays;
import java.util.List;

/**
 * Page addresses as runs of consecutive pages, which is how they travel: a process's pages lie
 * in a few dozen runs, and one address per page would cost 7 bytes of every 4 KiB page on the
 * wire (more than a compressed zero page). Pure.
 */
public final class PageRuns {
    /** Most pages one message may name (4 GiB of pages): a bound before anything is allocated. */
    public static final int MAX_PAGES = 1 << 20;

    /** Run k is {@code pages[k]} pages from {@code starts[k]}. */
    public record Runs(long[] starts, int[] pages) {
        public int count() {
            return starts.length;
        }
    }

    private PageRuns() {}

    /** The runs of {@code vaddrs[from .. to)}, in their order (not sorted: order is kept). */
    public static Runs of(long[] vaddrs, int from, int to) {
        long[] starts = new long[Math.max(0, to - from)];
        int[] pages = new int[starts.length];
        int n = 0;
        for (int i = from; i < to; i++) {
            if (n > 0 && vaddrs[i] == starts[n - 1] + (long) pages[n - 1] * PageHash.PAGE_SIZE) {
                pages[n - 1]++;
            } else {
                starts[n] = vaddrs[i];
                pages[n++] = 1;
            }
        }
        return new Runs(Arrays.copyOf(starts, n), Arrays.copyOf(pages, n));
    }

    /**
     * The addresses of runs as they arrived; refuses misaligned starts, empty or overflowing
     * runs, and more than {@code maxPages} pages in all.
     */
    public static long[] expand(List<Long> starts, List<Integer> pages, int maxPages) {
        if (starts.size() != pages.size()) {
            throw new IllegalArgumentException(starts.size() + " run starts for " + pages.size() + " run lengths");
        }
        long total = 0;
        for (int k = 0; k < pages.size(); k++) {
            int n = pages.get(k);
            if (n <= 0) throw new IllegalArgumentException("run " + k + " of " + Integer.toUnsignedString(n) + " pages");
            long start = starts.get(k);
            if ((start & (PageHash.PAGE_SIZE - 1)) != 0) {
                throw new IllegalArgumentException("run " + k + " starts at 0x" + Long.toHexString(start) + ", not a page");
            }
            if (Long.compareUnsigned(start + (long) n * PageHash.PAGE_SIZE, start) < 0) {
                throw new IllegalArgumentException("run " + k + " goes past the end of the address space");
            }
            total += n;
            if (total > maxPages) throw new IllegalArgumentException("more than " + maxPages + " pages in runs");
        }
        long[] vaddrs = new long[(int) total];
        int i = 0;
        for (int k = 0; k < pages.size(); k++) {
            long start = starts.get(k);
            for (int p = 0; p < pages.get(k); p++) vaddrs[i++] = start + (long) p * PageHash.PAGE_SIZE;
        }
        return vaddrs;
    }
}
