package org.migrationmesh.transfer.lazy;

import org.migrationmesh.transfer.PageHash;
import org.migrationmesh.transfer.PageKey;
import org.migrationmesh.transfer.PageStore;

/**
 * The destination's copies of pages the pre-copy sent ahead ({@link PageStore}, keyed by the
 * process's pid in the images and the address), read for the daemon when the source said,
 * with a {@code held} frame, that they did not change. A copy is used only if its content has
 * the digest the source read from the page server; otherwise the daemon asks the source. Pages
 * the source marked as the frozen process's ({@link PageStore#markFrozen}) are read with no
 * frame at all.
 */
final class PreCopiedCopies implements PageCache.HeldCopies {
    private final PageStore store;
    private long used;
    private long missing;

    PreCopiedCopies(PageStore store) {
        this.store = store;
    }

    @Override
    public boolean read(long pid, long vaddr, long digest, byte[] dst, int off) {
        boolean ok = store.read(new PageKey(Long.toString(pid), vaddr), dst, off) && PageHash.of(dst, off) == digest;
        if (ok) used++;
        else missing++;
        return ok;
    }

    @Override
    public boolean frozen(long pid, long vaddr) {
        return store.frozen(new PageKey(Long.toString(pid), vaddr));
    }

    @Override
    public boolean readFrozen(long pid, long vaddr, byte[] dst, int off) {
        boolean ok = store.read(new PageKey(Long.toString(pid), vaddr), dst, off);
        if (ok) used++;
        else missing++;
        return ok;
    }

    /** Pages answered from the pre-copy's copies. */
    long used() {
        return used;
    }

    /** Pages the source said were held whose copy was missing or different here. */
    long missing() {
        return missing;
    }
}
