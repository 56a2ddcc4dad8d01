package org.migrationmesh.transfer;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * The page digests a slice of a final image leaves out because the receiver holds those pages,
 * with those digests, already: after pre-copy, nearly every page of the final dump is one the
 * rounds sent, and its 8 bytes of digest told the receiver nothing it did not know (~40 KB for a
 * game server's 5 000 pages, inside the downtime). The sender names them as runs
 * ({@link #leaveOut}), the receiver takes their digests from its own store ({@link #fillIn}) and
 * checks them against one 64-bit check of the sender's; the commit's file digest
 * ({@link PageListDigest}) then proves the whole list. Pure.
 */
final class HeldDigests {
    private HeldDigests() {}

    /**
     * A slice as sent: {@code runs} alternate pages carried and pages left out, starting with
     * carried ones; {@code carried} are the digests of the carried pages in page order;
     * {@code check} is {@link PageRuns#check} of the left-out ones.
     */
    record Slice(int[] runs, long[] carried, long check) {
        int leftOut() {
            int n = 0;
            for (int k = 1; k < runs.length; k += 2) n += runs[k];
            return n;
        }
    }

    /** Of {@code digests[first, first + n)}: the pages for which {@code held} (by index in the file) is true are left out. */
    static Slice leaveOut(long[] digests, int first, int n, IntPredicate held) {
        int[] runs = new int[8];
        int nRuns = 0;
        long[] carried = new long[n];
        long[] left = new long[n];
        int nCarried = 0, nLeft = 0;
        boolean inHeld = false; // the first run counts carried pages
        int run = 0;
        for (int page = first; page < first + n; page++) {
            boolean h = held.test(page);
            if (h != inHeld) {
                if (nRuns == runs.length) runs = Arrays.copyOf(runs, nRuns * 2);
                runs[nRuns++] = run;
                run = 0;
                inHeld = h;
            }
            run++;
            if (h) left[nLeft++] = digests[page];
            else carried[nCarried++] = digests[page];
        }
        if (inHeld) { // a trailing run of carried pages is implied; a trailing held run is not
            if (nRuns == runs.length) runs = Arrays.copyOf(runs, nRuns + 1);
            runs[nRuns++] = run;
        }
        if (nLeft == 0) nRuns = 0;
        return new Slice(Arrays.copyOf(runs, nRuns), Arrays.copyOf(carried, nCarried), PageRuns.check(left, 0, nLeft));
    }

    /**
     * The digests of a slice's pages, carried ones from {@code carried}, left-out ones from
     * {@code heldDigest} (by index in the slice); empty when a left-out page is not held, or the
     * held digests do not give {@code check}.
     *
     * @throws IllegalArgumentException when the runs do not fit the carried digests, or name more than {@code maxPages}
     */
    static java.util.Optional<long[]> fillIn(List<Integer> runs, long[] carried, long check, int maxPages,
                                             IntFunction<OptionalLong> heldDigest) {
        long leftOut = 0, carriedInRuns = 0;
        for (int k = 0; k < runs.size(); k++) {
            if (runs.get(k) < 0) throw new IllegalArgumentException("negative run length " + runs.get(k));
            if (k % 2 == 0) carriedInRuns += Integer.toUnsignedLong(runs.get(k));
            else leftOut += Integer.toUnsignedLong(runs.get(k));
        }
        if (carriedInRuns > carried.length) {
            throw new IllegalArgumentException("runs name " + carriedInRuns + " carried pages, " + carried.length + " digests carried");
        }
        if (carried.length + leftOut > maxPages) {
            throw new IllegalArgumentException(carried.length + leftOut + " pages in a slice of at most " + maxPages);
        }
        long[] all = new long[(int) (carried.length + leftOut)];
        long[] left = new long[(int) leftOut];
        int page = 0, c = 0, l = 0;
        for (int k = 0; k < runs.size(); k++) {
            int len = runs.get(k);
            if (k % 2 == 0) {
                System.arraycopy(carried, c, all, page, len);
                c += len;
                page += len;
                continue;
            }
            for (int end = page + len; page < end; page++) {
                OptionalLong d = heldDigest.apply(page);
                if (d.isEmpty()) return java.util.Optional.empty();
                all[page] = d.getAsLong();
                left[l++] = all[page];
            }
        }
        System.arraycopy(carried, c, all, page, carried.length - c);
        if (PageRuns.check(left, 0, l) != check) return java.util.Optional.empty();
        return java.util.Optional.of(all);
    }
}
