package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;

import java.util.HashMap;
import java.util.Map;

/**
 * Pages pushed by the source, by process (virtual pid) and page address, until the daemon
 * asks for them. Holds at most {@code budgetBytes}: pages beyond it are not kept (the daemon
 * then fetches them itself, as without pushes). Pure; not thread-safe.
 */
final class PageCache {
    private final long budgetBytes;
    private final Map<Long, Map<Long, byte[]>> byPid = new HashMap<>();
    private long bytes;
    private long refused;

    PageCache(long budgetBytes) {
        if (budgetBytes < 0) throw new IllegalArgumentException("negative page cache budget " + budgetBytes);
        this.budgetBytes = budgetBytes;
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
     * Removes and returns the cached pages from {@code vaddr} on, as long as they are
     * contiguous and at most {@code maxPages}; null if the page at {@code vaddr} is not cached.
     */
    byte[] take(long pid, long vaddr, long maxPages) {
        Map<Long, byte[]> m = byPid.get(pid);
        if (m == null || !m.containsKey(vaddr)) return null;
        int n = 0;
        while (n < maxPages && m.containsKey(vaddr + (long) n * PageServerIov.PAGE_SIZE)) n++;
        byte[] out = new byte[n * PageServerIov.PAGE_SIZE];
        for (int i = 0; i < n; i++) {
            System.arraycopy(m.remove(vaddr + (long) i * PageServerIov.PAGE_SIZE), 0, out, i * PageServerIov.PAGE_SIZE,
                    PageServerIov.PAGE_SIZE);
        }
        bytes -= out.length;
        return out;
    }

    /** Forgets {@code pages} pages from {@code vaddr} (the daemon got them another way). */
    void drop(long pid, long vaddr, long pages) {
        Map<Long, byte[]> m = byPid.get(pid);
        if (m == null) return;
        for (long i = 0; i < pages; i++) {
            if (m.remove(vaddr + i * PageServerIov.PAGE_SIZE) != null) bytes -= PageServerIov.PAGE_SIZE;
        }
    }

    void clear() {
        byPid.clear();
        bytes = 0;
    }

    long bytes() {
        return bytes;
    }

    /** Bytes of pushed pages not kept for lack of budget. */
    long refusedBytes() {
        return refused;
    }
}
