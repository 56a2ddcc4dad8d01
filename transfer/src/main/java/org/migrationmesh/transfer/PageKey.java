package org.migrationmesh.transfer;

import java.util.Objects;

/**
 * Identifies one 4 KiB page of a checkpointed process: its address space and virtual address.
 *
 * <p>The address space is the id CRIU puts in {@code pagemap-<space>.img} (the pid in the image),
 * so pages read live from a running process and pages from a dump of it meet under the same key.
 */
public record PageKey(String space, long vaddr) {
    public PageKey {
        Objects.requireNonNull(space, "space");
        if ((vaddr & (PageHash.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("vaddr 0x" + Long.toHexString(vaddr) + " is not page aligned");
        }
    }

    /** Page numbers mixed, so the consecutive pages of an image spread over a hash table. */
    @Override
    public int hashCode() {
        long h = (vaddr >>> 12) * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) ^ space.hashCode();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PageKey k && k.vaddr == vaddr && k.space.equals(space);
    }

    @Override
    public String toString() {
        return space + "@0x" + Long.toHexString(vaddr);
    }
}
