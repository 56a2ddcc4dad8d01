package org.migrationmesh.transfer;

import java.util.Arrays;
import java.util.BitSet;

/**
 * The CRC32C of a file's pages as last read back from the file, by page position, and which
 * positions have one: a page written since it was read back has none. What it knows stands for
 * reading the page again, for a check of the bytes as they lie in the file, as long as every
 * write to the file forgets its pages here. Pure; not thread-safe.
 */
final class ReadBackCrcs {
    private int[] crcs;
    private final BitSet known;

    ReadBackCrcs() {
        this(new int[0], new BitSet());
    }

    private ReadBackCrcs(int[] crcs, BitSet known) {
        this.crcs = crcs;
        this.known = known;
    }

    /** What {@code crcs} and {@code known} (as {@link #crcs()} and {@link #known()} gave them) say. */
    static ReadBackCrcs of(int[] crcs, BitSet known) {
        if (known.length() > crcs.length) throw new IllegalArgumentException("known pages beyond the CRCs: " + known.length());
        return new ReadBackCrcs(crcs.clone(), (BitSet) known.clone());
    }

    /** Page {@code page} read back with CRC32C {@code crc}. */
    void put(int page, int crc) {
        if (page >= crcs.length) crcs = Arrays.copyOf(crcs, Math.max(page + 1, crcs.length * 2));
        crcs[page] = crc;
        known.set(page);
    }

    /** Pages {@code [from, to)} were written (or may have been): none of them is known any more. */
    void forget(long from, long to) {
        int f = (int) Math.min(Math.max(from, 0), Integer.MAX_VALUE);
        int t = (int) Math.min(Math.max(to, f), Integer.MAX_VALUE);
        known.clear(f, t);
    }

    /** Forgets every page from {@code page} on (the file shifted or ends there). */
    void forgetFrom(long page) {
        forget(page, Integer.MAX_VALUE);
    }

    boolean known(int page) {
        return known.get(page);
    }

    /** The first page from {@code from} on that is not known. */
    int nextUnknown(int from) {
        return known.nextClearBit(from);
    }

    /** CRC32C of pages {@code [from, from + count)} one after the other; every one of them must be known. */
    int ofRun(int from, int count) {
        int unknown = known.nextClearBit(from);
        if (unknown < from + count) throw new IllegalStateException("page " + unknown + " was not read back");
        return PageCrcs.ofRun(crcs, from, count);
    }

    /** A copy of the CRCs, for {@link #of}. */
    int[] crcs() {
        return Arrays.copyOf(crcs, known.length());
    }

    /** A copy of which pages are known, for {@link #of}. */
    BitSet known() {
        return (BitSet) known.clone();
    }
}
