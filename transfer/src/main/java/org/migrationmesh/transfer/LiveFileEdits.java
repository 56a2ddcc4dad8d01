package org.migrationmesh.transfer;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * How a file of live pages becomes the pages file of a dump when the two disagree by whole
 * stretches: a page the process freed or mapped between the pre-copy round and the freeze shifts
 * every page after it by one in the dump's file, against the live file. Each such shift is one
 * range inserted into or collapsed out of the live file ({@link FileRanges}), the pages after it
 * moved within the file, in the page cache; copying the whole file to a new one instead cost
 * ~45-65 ms for 20 MiB here, all of it downtime.
 *
 * <p>Pure: from where each page of the dump lies in the live file, it plans the edits (in the
 * order they are applied, each at positions of the file as the edits before it left it), the
 * pages they put in place, and the held pages that stay out of order, to be read before the edits
 * and written where they belong after.
 */
final class LiveFileEdits {
    /** A stretch of pages sharing one shift is laid out by an edit from this many pages on; shorter ones out of place are moved. */
    static final int MIN_STRETCH_PAGES = 16;
    /** Edits a plan makes at most; more means the files disagree too much for edits to pay. */
    static final int MAX_EDITS = 8;

    /** Insert ({@code pages > 0}) that many empty pages at page {@code at}, or collapse ({@code pages < 0}) as many from there. */
    record Edit(long at, long pages) {
        boolean insert() {
            return pages > 0;
        }
    }

    /**
     * The edits to make, the dump's pages they leave in place, and the dump's pages held in the
     * live file elsewhere ({@code misplaced[k]} lies at live page {@code misplacedFrom[k]}).
     */
    record Plan(List<Edit> edits, BitSet inPlace, int[] misplaced, long[] misplacedFrom) {}

    private LiveFileEdits() {
    }

    /**
     * Plans for a dump whose page {@code i} lies in the live file at page {@code livePage[i]}
     * ({@code -1}: not held there). When it would take more than {@link #MAX_EDITS} edits, the
     * plan makes none: pages already at their index are in place, the other held ones misplaced.
     */
    static Plan plan(long[] livePage) {
        Plan p = withEdits(livePage);
        return p.edits().size() <= MAX_EDITS ? p : withoutEdits(livePage);
    }

    private static Plan withoutEdits(long[] livePage) {
        BitSet inPlace = new BitSet(livePage.length);
        List<Integer> moved = new ArrayList<>();
        for (int i = 0; i < livePage.length; i++) {
            if (livePage[i] < 0) continue;
            if (livePage[i] == i) inPlace.set(i);
            else moved.add(i);
        }
        return new Plan(List.of(), inPlace, moved.stream().mapToInt(Integer::intValue).toArray(),
                moved.stream().mapToLong(i -> livePage[i]).toArray());
    }

    private static Plan withEdits(long[] livePage) {
        List<Edit> edits = new ArrayList<>();
        BitSet inPlace = new BitSet(livePage.length);
        BitSet moved = new BitSet(livePage.length);
        long shiftSoFar = 0; // pages inserted less pages collapsed by the edits so far
        long settled = 0; // positions below this are final
        int i = nextHeld(livePage, 0);
        while (i >= 0) {
            // The stretch from i: held pages sharing page i's shift, with pages not held among them.
            long shift = livePage[i] - i;
            int end = i;
            int count = 0;
            for (int j = i; j >= 0 && livePage[j] - j == shift; j = nextHeld(livePage, j + 1)) {
                end = j;
                count++;
            }
            long at = livePage[i] + shiftSoFar; // where page i lies now
            if (at < settled || at != i && count < MIN_STRETCH_PAGES) {
                for (int j = i; j >= 0 && j <= end; j = nextHeld(livePage, j + 1)) moved.set(j);
            } else {
                if (at != i) {
                    // Pages [settled, i) of the dump are not held in order: positions up to i are free.
                    edits.add(at < i ? new Edit(at, i - at) : new Edit(i, -(at - i)));
                    shiftSoFar += i - at;
                }
                for (int j = i; j >= 0 && j <= end; j = nextHeld(livePage, j + 1)) inPlace.set(j);
                settled = end + 1;
            }
            i = nextHeld(livePage, end + 1);
        }
        int[] misplaced = moved.stream().toArray();
        long[] from = new long[misplaced.length];
        for (int k = 0; k < misplaced.length; k++) from[k] = livePage[misplaced[k]];
        return new Plan(List.copyOf(edits), inPlace, misplaced, from);
    }

    private static int nextHeld(long[] livePage, int from) {
        for (int j = from; j < livePage.length; j++) if (livePage[j] >= 0) return j;
        return -1;
    }
}
