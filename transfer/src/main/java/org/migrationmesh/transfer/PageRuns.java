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

        /** {@link #starts} as the list a message's {@code run_starts} takes. */
        public List<Long> startList() {
            return Arrays.stream(starts).boxed().toList();
        }

        /** {@link #pages} as the list a message's {@code run_pages} takes. */
        public List<Integer> pageList() {
            return Arrays.stream(pages).boxed().toList();
        }

        /** The address of every page of the runs, in their order. */
        public long[] addresses() {
            long total = 0;
            for (int p : pages) total += p;
            long[] vaddrs = new long[Math.toIntExact(total)];
            int i = 0;
            for (int k = 0; k < starts.length; k++) {
                for (int p = 0; p < pages[k]; p++) vaddrs[i++] = starts[k] + (long) p * PageHash.PAGE_SIZE;
            }
            return vaddrs;
        }
    }

    /** Runs made page range by page range, in order; a range that continues the last run extends it. */
    public static final class Builder {
        private long[] starts = new long[16];
        private int[] pages = new int[16];
        private int n;

        /** Adds {@code count} pages from {@code first}. */
        public Builder add(long first, int count) {
            if (n > 0 && first == starts[n - 1] + (long) pages[n - 1] * PageHash.PAGE_SIZE) {
                pages[n - 1] += count;
                return this;
            }
            if (n == starts.length) {
                starts = Arrays.copyOf(starts, n * 2);
                pages = Arrays.copyOf(pages, n * 2);
            }
            starts[n] = first;
            pages[n++] = count;
            return this;
        }

        public Runs build() {
            return new Runs(Arrays.copyOf(starts, n), Arrays.copyOf(pages, n));
        }
    }

    private PageRuns() {}

    /** The runs of {@code vaddrs[from .. to)}, in their order (not sorted: order is kept). */
    /**
     * One 64-bit check over the page digests {@code digests[from..to)}, in order: what a run of
     * pages held from a parent image is checked with, the sender having named the run by its
     * addresses only. Pure.
     */
    public static long check(long[] digests, int from, int to) {
        long h = 0x9E3779B97F4A7C15L;
        for (int i = from; i < to; i++) {
            h = (h ^ digests[i]) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }

    /**
     * The addresses of {@code a} and {@code b} (each ascending, unsigned) in one ascending array.
     *
     * @throws IllegalArgumentException when an address is in both
     */
    public static long[] merge(long[] a, long[] b) {
        long[] out = new long[a.length + b.length];
        int i = 0, j = 0, k = 0;
        while (i < a.length && j < b.length) {
            int c = Long.compareUnsigned(a[i], b[j]);
            if (c == 0) throw new IllegalArgumentException("page 0x" + Long.toHexString(a[i]) + " named twice");
            out[k++] = c < 0 ? a[i++] : b[j++];
        }
        while (i < a.length) out[k++] = a[i++];
        while (j < b.length) out[k++] = b[j++];
        return out;
    }

    public static Runs of(long[] vaddrs, int from, int to) {
        Builder b = new Builder();
        for (int i = from; i < to; i++) b.add(vaddrs[i], 1);
        return b.build();
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
        return new Runs(starts.stream().mapToLong(Long::longValue).toArray(), pages.stream().mapToInt(Integer::intValue).toArray())
                .addresses();
    }
}
