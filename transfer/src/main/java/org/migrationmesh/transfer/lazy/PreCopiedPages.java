package org.migrationmesh.transfer.lazy;

/**
 * The pages a migration's pre-copy sent to its destination, as the source remembers them.
 * With it the source's relay tells the destination "you hold this page" instead of sending
 * a page that did not change since (without dirty tracking a lazy dump keeps every page back,
 * so the pre-copied ones would otherwise cross the link again).
 */
@FunctionalInterface
public interface PreCopiedPages {
    /**
     * Whether the page at {@code vaddr} of process {@code pid} (its pid in the images) was sent
     * with the content {@code page[off .. off+4096)}. A wrong yes costs one page fault over the
     * link: the destination checks the page's digest against its own copy.
     */
    boolean sentUnchanged(long pid, long vaddr, byte[] page, int off);

    /**
     * Whether the destination holds the page at {@code vaddr} of process {@code pid} as the
     * frozen process has it and knows it (the round read while frozen ended with a mark the
     * destination acknowledged): then nothing is sent for it, not even a digest.
     */
    default boolean markedFrozen(long pid, long vaddr) {
        return false;
    }
}
