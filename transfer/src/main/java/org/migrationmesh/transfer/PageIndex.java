package org.migrationmesh.transfer;

/**
 * The first page seen with each page digest, for finding repeated pages: an open-addressing table
 * of primitive longs and ints (a {@code HashMap<Long, Integer>} boxed two objects per page and cost
 * more CPU than hashing the page). Pure; not thread-safe.
 */
final class PageIndex {
    private static final int EMPTY = -1;
    private long[] digests;
    private int[] pages;
    private int size;

    PageIndex(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        digests = new long[cap];
        pages = new int[cap];
        java.util.Arrays.fill(pages, EMPTY);
    }

    /** The page already recorded with {@code digest}, or -1 after recording {@code page} for it. */
    int putIfAbsent(long digest, int page) {
        if (page < 0) throw new IllegalArgumentException("page " + page);
        int mask = pages.length - 1;
        for (int i = spread(digest) & mask; ; i = (i + 1) & mask) {
            if (pages[i] == EMPTY) {
                digests[i] = digest;
                pages[i] = page;
                if (++size * 2 > pages.length) grow();
                return EMPTY;
            }
            if (digests[i] == digest) return pages[i];
        }
    }

    private static int spread(long digest) {
        long h = digest * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    private void grow() {
        long[] oldDigests = digests;
        int[] oldPages = pages;
        digests = new long[oldPages.length * 2];
        pages = new int[oldPages.length * 2];
        java.util.Arrays.fill(pages, EMPTY);
        size = 0;
        for (int i = 0; i < oldPages.length; i++) {
            if (oldPages[i] != EMPTY) putIfAbsent(oldDigests[i], oldPages[i]);
        }
    }
}
