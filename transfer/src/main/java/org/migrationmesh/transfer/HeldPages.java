package org.migrationmesh.transfer;

import org.migrationmesh.proto.transfer.HeldPagesReply;
import org.migrationmesh.proto.transfer.HeldSpace;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * The pages a receiver said it holds before the first round (from the parent image it kept of
 * the container): by address space and address, the low 32 bits of each page's digest. A page
 * whose digest matches need not be sent ahead; a false match costs the final image that page,
 * which it plans with the full digest.
 */
public final class HeldPages {
    public static final HeldPages NONE = new HeldPages(Map.of(), 0, 0);

    private final Map<String, Map<Long, Integer>> bySpace;
    private final long pages;
    private final long wireBytes;

    private HeldPages(Map<String, Map<Long, Integer>> bySpace, long pages, long wireBytes) {
        this.bySpace = bySpace;
        this.pages = pages;
        this.wireBytes = wireBytes;
    }

    /**
     * Reads a receiver's answer, the question and the answer having taken {@code wireBytes} on the
     * wire; refuses one whose runs and digests disagree.
     */
    public static HeldPages of(HeldPagesReply reply, long wireBytes) {
        Map<String, Map<Long, Integer>> bySpace = new HashMap<>();
        long n = 0;
        for (HeldSpace s : reply.getSpacesList()) {
            long[] vaddrs = PageRuns.expand(s.getRunStartsList(), s.getRunPagesList(), PageRuns.MAX_PAGES);
            if (s.getDigests32().size() != vaddrs.length * Integer.BYTES) {
                throw new IllegalArgumentException(s.getDigests32().size() + " bytes of digests for " + vaddrs.length
                        + " pages of " + s.getSpace());
            }
            ByteBuffer d = s.getDigests32().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            Map<Long, Integer> held = bySpace.computeIfAbsent(s.getSpace(), k -> new HashMap<>(vaddrs.length * 2));
            for (long vaddr : vaddrs) held.put(vaddr, d.getInt());
            n += vaddrs.length;
        }
        return new HeldPages(bySpace, Math.max(n, reply.getPages()), wireBytes);
    }

    /** Whether the receiver holds, at {@code vaddr} of {@code space}, a page whose digest seems to be {@code digest}. */
    public boolean holds(String space, long vaddr, long digest) {
        Map<Long, Integer> held = bySpace.get(space);
        Integer low = held == null ? null : held.get(vaddr);
        return low != null && low == (int) digest;
    }

    /** Whether anything is held at all in {@code space} (so that a page there is worth a digest). */
    public boolean any(String space) {
        return bySpace.containsKey(space);
    }

    /** Bytes the question and the answer took on the wire (the digests, 4 bytes a page held). */
    public long wireBytes() {
        return wireBytes;
    }

    /** Pages the receiver holds from its parent image. */
    public long pages() {
        return pages;
    }
}
