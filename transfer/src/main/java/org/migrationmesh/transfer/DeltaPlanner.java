package org.migrationmesh.transfer;

import java.util.BitSet;

/**
 * Decides which pages of a pages file travel as bytes. Pure.
 *
 * <p>The receiver side ({@link #needed}) compares the sender's page digests with what it holds
 * for the same address space and virtual address. The sender side ({@link PagesFilePlan}) turns
 * that answer into page operations chunk by chunk: a zero page or a page the receiver holds is
 * never sent, a page equal to an earlier page of the same file is sent as a reference, and only
 * the rest travels as bytes.
 */
public final class DeltaPlanner {
    private DeltaPlanner() {}

    /** What the receiver holds: whether it has a page with this digest at this key. */
    @FunctionalInterface
    public interface Holdings {
        boolean holds(PageKey key, long digest);
    }

    /**
     * Receiver side: bit i set when page i (at {@code vaddrs[i]} of {@code space}, sender digest
     * {@code digests[i]}) must be sent because nothing with that digest is held there.
     */
    public static BitSet needed(String space, long[] vaddrs, long[] digests, Holdings holdings) {
        if (vaddrs.length != digests.length) {
            throw new IllegalArgumentException(digests.length + " digests for " + vaddrs.length + " pages");
        }
        BitSet need = new BitSet(vaddrs.length);
        for (int i = 0; i < vaddrs.length; i++) {
            if (!holdings.holds(new PageKey(space, vaddrs[i]), digests[i])) need.set(i);
        }
        return need;
    }

    /**
     * One planned chunk: an op per page, the dup references, and the pages that travel as bytes
     * (indices in the file, ascending), whose bytes the sender reads, and only those.
     */
    public record PlannedChunk(byte[] ops, int[] dupOf, int[] dataPages, int zeroPages, int heldPages, int dupPages) {}

    /** Sender-side plan of one pages file, fed its chunks in order. */
    public static final class PagesFilePlan {
        private final BitSet need;
        private final PageIndex firstWithDigest;

        /** {@code need}: the receiver's answer, bit i set = page i must be sent. */
        public PagesFilePlan(BitSet need) {
            this.need = need;
            this.firstWithDigest = new PageIndex(Math.max(need.length(), 1024));
        }

        /** Pages the receiver needs (before zero pages and duplicates are taken out). */
        public int neededPages() {
            return need.cardinality();
        }

        /** The first page from {@code page} on that the receiver needs (it holds the others), or -1. */
        public int nextNeeded(int page) {
            return need.nextSetBit(page);
        }

        /**
         * Plans the chunk of {@code pages} pages starting at page {@code firstPage} from the
         * digests alone ({@code digests} holds the digest of every page of the file): a page with
         * the digest of zeros is a zero page, even if held; a page the receiver holds is not sent;
         * a page with the digest of an earlier page refers to it; the rest travel as bytes. A
         * digest that matched by accident yields wrong bytes at the receiver, which the chunk's
         * CRC32C (computed by the sender over the true bytes) refuses.
         */
        public PlannedChunk plan(int pages, int firstPage, long[] digests) {
            byte[] ops = new byte[pages];
            int[] dups = new int[pages];
            int[] data = new int[pages];
            int nData = 0, nZero = 0, nHeld = 0, nDup = 0;
            for (int i = 0; i < pages; i++) {
                int page = firstPage + i;
                long digest = digests[page];
                if (digest == PageHash.ZERO) {
                    ops[i] = PageOps.ZERO;
                    nZero++;
                    continue;
                }
                if (!need.get(page)) {
                    firstWithDigest.putIfAbsent(digest, page);
                    ops[i] = PageOps.HELD;
                    nHeld++;
                    continue;
                }
                int earlier = firstWithDigest.putIfAbsent(digest, page);
                if (earlier >= 0) {
                    ops[i] = PageOps.DUP;
                    dups[nDup++] = earlier;
                    continue;
                }
                ops[i] = PageOps.DATA;
                data[nData++] = page;
            }
            return new PlannedChunk(ops, java.util.Arrays.copyOf(dups, nDup), java.util.Arrays.copyOf(data, nData),
                    nZero, nHeld, nDup);
        }
    }
}
