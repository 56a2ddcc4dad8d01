package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Pages for the daemon, by process (virtual pid) and page address, until it asks for them:
 * pages pushed by the source, and pages the source said this side holds from the pre-copy
 * (their digests only: the copy is read, and checked, when the daemon asks, so taking a
 * {@code held} frame costs no disk read), and pages this side holds as the frozen process has
 * them (the source's last round said so: read when asked, no frame needed). Pushed pages take at most {@code budgetBytes}; pages
 * beyond it are not kept (the daemon then fetches them itself, as without pushes). Pure but for
 * the {@link HeldCopies} it reads through; not thread-safe.
 */
final class PageCache {
    /** Where this side's copies of pre-copied pages are read. */
    interface HeldCopies {
        /** Copies the page at {@code vaddr} of {@code pid} into {@code dst[off..]} if its content has {@code digest}. */
        boolean read(long pid, long vaddr, long digest, byte[] dst, int off);

        /** Whether the page at {@code vaddr} of {@code pid} is held as the frozen process has it (the source said so). */
        boolean frozen(long pid, long vaddr);

        /** Copies the frozen page at {@code vaddr} of {@code pid} into {@code dst[off..]}; false if it is not held. */
        boolean readFrozen(long pid, long vaddr, byte[] dst, int off);
    }

    private final long budgetBytes;
    private final HeldCopies copies;
    private final Map<Long, Map<Long, byte[]>> byPid = new HashMap<>();
    private final Map<Long, Map<Long, Long>> heldByPid = new HashMap<>();
    private long bytes;
    private long refused;
    private long held;

    PageCache(long budgetBytes) {
        this(budgetBytes, null);
    }

    /** {@code copies}: where held pages are read; null if this side holds no pre-copy. */
    PageCache(long budgetBytes, HeldCopies copies) {
        if (budgetBytes < 0) throw new IllegalArgumentException("negative page cache budget " + budgetBytes);
        this.budgetBytes = budgetBytes;
        this.copies = copies;
    }

    /** Keeps the pages of {@code pages} (whole pages from {@code vaddr}) while within budget. */
    void put(long pid, long vaddr, ByteString pages) {
        if (pages.size() % PageServerIov.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("pushed pages of pid " + pid + " at 0x" + Long.toHexString(vaddr)
                    + " are " + pages.size() + " bytes, not whole pages");
        }
        Map<Long, byte[]> m = byPid.computeIfAbsent(pid, p -> new HashMap<>());
        for (int off = 0; off < pages.size(); off += PageServerIov.PAGE_SIZE) {
            long addr = vaddr + off;
            if (m.containsKey(addr)) continue;
            if (bytes + PageServerIov.PAGE_SIZE > budgetBytes) {
                refused += PageServerIov.PAGE_SIZE;
                continue;
            }
            m.put(addr, pages.substring(off, off + PageServerIov.PAGE_SIZE).toByteArray());
            bytes += PageServerIov.PAGE_SIZE;
        }
    }

    /**
     * Notes that this side holds the pages from {@code vaddr} of {@code pid}, page i with content
     * {@code digests.get(i)}.
     */
    void putHeld(long pid, long vaddr, List<Long> digests) {
        if (copies == null) throw new IllegalStateException("held pages of pid " + pid + " but this side holds no pre-copy");
        Map<Long, Long> m = heldByPid.computeIfAbsent(pid, p -> new HashMap<>());
        for (int i = 0; i < digests.size(); i++) {
            if (m.put(vaddr + (long) i * PageServerIov.PAGE_SIZE, digests.get(i)) == null) held++;
        }
    }

    private boolean has(long pid, long addr) {
        Map<Long, byte[]> m = byPid.get(pid);
        if (m != null && m.containsKey(addr)) return true;
        Map<Long, Long> h = heldByPid.get(pid);
        if (h != null && h.containsKey(addr)) return true;
        return copies != null && copies.frozen(pid, addr);
    }

    /**
     * Removes and returns the pages from {@code vaddr} on, as long as they are here, contiguous
     * and at most {@code maxPages}; a held copy that is missing or differs ends the run. Null if
     * the page at {@code vaddr} is not here.
     */
    byte[] take(long pid, long vaddr, long maxPages) {
        int n = 0;
        while (n < maxPages && has(pid, vaddr + (long) n * PageServerIov.PAGE_SIZE)) n++;
        if (n == 0) return null;
        Map<Long, byte[]> m = byPid.get(pid);
        Map<Long, Long> h = heldByPid.get(pid);
        byte[] out = new byte[n * PageServerIov.PAGE_SIZE];
        int got = 0;
        for (; got < n; got++) {
            long addr = vaddr + (long) got * PageServerIov.PAGE_SIZE;
            byte[] page = m == null ? null : m.remove(addr);
            if (page != null) {
                System.arraycopy(page, 0, out, got * PageServerIov.PAGE_SIZE, PageServerIov.PAGE_SIZE);
                bytes -= PageServerIov.PAGE_SIZE;
                if (h != null && h.remove(addr) != null) held--;
                continue;
            }
            Long digest = h == null ? null : h.remove(addr);
            if (digest != null) {
                held--;
                if (!copies.read(pid, addr, digest, out, got * PageServerIov.PAGE_SIZE)) break;
            } else if (!copies.readFrozen(pid, addr, out, got * PageServerIov.PAGE_SIZE)) {
                break;
            }
        }
        if (got == 0) return null;
        return got == n ? out : Arrays.copyOf(out, got * PageServerIov.PAGE_SIZE);
    }

    /** How many pages from {@code vaddr} on, at most {@code maxPages}, are not here (up to the first that is). */
    long uncachedRun(long pid, long vaddr, long maxPages) {
        long n = 0;
        while (n < maxPages && !has(pid, vaddr + n * PageServerIov.PAGE_SIZE)) n++;
        return n;
    }

    /** Forgets {@code pages} pages from {@code vaddr} (the daemon got them another way). */
    void drop(long pid, long vaddr, long pages) {
        Map<Long, byte[]> m = byPid.get(pid);
        Map<Long, Long> h = heldByPid.get(pid);
        for (long i = 0; i < pages; i++) {
            long addr = vaddr + i * PageServerIov.PAGE_SIZE;
            if (m != null && m.remove(addr) != null) bytes -= PageServerIov.PAGE_SIZE;
            if (h != null && h.remove(addr) != null) held--;
        }
    }

    void clear() {
        byPid.clear();
        heldByPid.clear();
        bytes = 0;
        held = 0;
    }

    /** Bytes of pushed pages kept. */
    long bytes() {
        return bytes;
    }

    /** Held pages noted and not yet taken. */
    long heldPages() {
        return held;
    }

    /** Bytes of pushed pages not kept for lack of budget. */
    long refusedBytes() {
        return refused;
    }
}
