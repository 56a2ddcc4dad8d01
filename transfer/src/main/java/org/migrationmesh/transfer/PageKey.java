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

    @Override
    public String toString() {
        return space + "@0x" + Long.toHexString(vaddr);
    }
}
