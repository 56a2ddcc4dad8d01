package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the memory a checkpoint would contain from a process that keeps running: the pages
 * CRIU's dump would write (criu/mem.c, should_dump_page), read from /proc/PID/mem. These are
 * the private pages present or swapped (by /proc/PID/pagemap), less those that map the
 * kernel's shared zero page (read but never written), plus the vDSO's and the first page of the
 * first executable mapping, where CRIU's parasite injection writes its system call (so the
 * dump finds that page copied on write, a private page, even in a process never dumped
 * before: parasite-syscall.c, get_exec_start). This is pre-copy
 * without kernel dirty tracking: pages read now are sent ahead, and the final dump's transfer
 * skips every page whose content at that address did not change. The same set as the dump's
 * matters beyond the pages it saves: the destination's copy of the pages, in address order,
 * is then the dump's pages file as it stands, and becomes it without moving a page.
 *
 * <p>The process is not stopped, so a page may change while it is read; that is harmless,
 * because the final dump is compared by content and decides what is sent.
 */
public final class LiveMemory {
    /** Bytes per page on the platforms CRIU supports here (x86_64). */
    public static final int PAGE_SIZE = 4096;
    private static final long PM_PRESENT = 1L << 63;
    private static final long PM_SWAPPED = 1L << 62;
    private static final long PM_FILE_OR_SHARED = 1L << 61;
    /** The page is mapped once (only here); the shared zero page never is. */
    private static final long PM_EXCLUSIVE = 1L << 56;
    private static final long PM_PFN = (1L << 55) - 1;
    /** /proc/kpageflags: the page is the zero page (Documentation/admin-guide/mm/pagemap.rst, KPF_ZERO_PAGE). */
    private static final long KPF_ZERO_PAGE = 1L << 24;
    private static final Path KPAGEFLAGS = Path.of("/proc/kpageflags");
    /** Pages read from /proc/PID/mem in one call. */
    private static final int BATCH_PAGES = 256;

    private LiveMemory() {}

    /** Receives runs of consecutive pages: {@code content} holds {@code content.remaining() / PAGE_SIZE} pages. */
    @FunctionalInterface
    public interface PageSink {
        void pages(long vaddr, ByteBuffer content) throws IOException;
    }

    /** One line of /proc/PID/maps. */
    public record Region(long start, long end, String perms, long offset, String path) {
        boolean readable() {
            return perms.charAt(0) == 'r';
        }

        boolean shared() {
            return perms.charAt(3) == 's';
        }

        /** Kernel-provided areas that CRIU does not dump and /proc/PID/mem cannot read usefully. */
        boolean special() {
            return path.equals("[vsyscall]") || path.equals("[vvar]") || path.startsWith("[vvar");
        }

        /** The vDSO: its pages are the kernel's (file pages to pagemap, or not yet present), and CRIU dumps them all. */
        boolean vdso() {
            return path.equals("[vdso]");
        }

        public long pages() {
            return (end - start) / PAGE_SIZE;
        }
    }

    /** What a scan read. */
    public record Scan(int pid, long pagesRead, long regions, long elapsedNanos) {
    }

    /** Parses /proc/PID/maps text; pure. */
    public static List<Region> parseMaps(String maps) {
        List<Region> out = new ArrayList<>();
        for (String line : maps.lines().toList()) {
            String[] f = line.trim().split("\\s+", 6);
            if (f.length < 5) continue;
            int dash = f[0].indexOf('-');
            out.add(new Region(Long.parseUnsignedLong(f[0].substring(0, dash), 16),
                    Long.parseUnsignedLong(f[0].substring(dash + 1), 16), f[1], Long.parseUnsignedLong(f[2], 16),
                    f.length == 6 ? f[5] : ""));
        }
        return out;
    }

    /** Which pages of a run of pagemap entries hold private memory worth sending; pure. */
    static boolean worthReading(long pagemapEntry) {
        return (pagemapEntry & (PM_PRESENT | PM_SWAPPED)) != 0 && (pagemapEntry & PM_FILE_OR_SHARED) == 0;
    }

    /**
     * Whether a page {@link #worthReading} may be the shared zero page, which only
     * /proc/kpageflags can tell: present and not mapped exclusively (a private page of this
     * process alone is); pure. Only these few are looked up.
     */
    static boolean mayBeZeroPage(long pagemapEntry) {
        return (pagemapEntry & PM_PRESENT) != 0 && (pagemapEntry & PM_EXCLUSIVE) == 0 && (pagemapEntry & PM_PFN) != 0;
    }

    /** Whether kpageflags {@code flags} are the zero page's; pure. */
    static boolean zeroPage(long kpageflags) {
        return (kpageflags & KPF_ZERO_PAGE) != 0;
    }

    /**
     * Whether to read the page at {@code vaddr} of region {@code r}, whose pagemap entry is
     * {@code entry}: the vDSO's and the injection page whatever pagemap says, else
     * {@link #worthReading} less zero pages. {@code zeroPages} looks up page frames in
     * /proc/kpageflags (when it cannot be read, zero pages are read and sent like any).
     */
    private static boolean toRead(Region r, long vaddr, long injection, long entry, ZeroPages zeroPages) throws IOException {
        if (r.vdso() || vaddr == injection) return true;
        if (!worthReading(entry)) return false;
        return !mayBeZeroPage(entry) || !zeroPages.is(entry & PM_PFN);
    }

    /** Where CRIU's parasite injection writes (parasite-syscall.c, get_exec_start): the first executable mapping's start, or -1. */
    static long injectionPage(List<Region> regions) {
        for (Region r : regions) {
            if (r.special() || Long.compareUnsigned(r.start(), 1L << 56) >= 0) continue; // at or above the task size
            if (r.perms().charAt(2) == 'x' && r.end() - r.start() >= PAGE_SIZE) return r.start();
        }
        return -1;
    }

    /** Page frames looked up in /proc/kpageflags during one read, and whether each is the zero page. */
    private static final class ZeroPages implements AutoCloseable {
        private final FileChannel flags;
        private final java.util.Map<Long, Boolean> seen = new java.util.HashMap<>();
        private final ByteBuffer one = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());

        ZeroPages() {
            FileChannel ch;
            try {
                ch = FileChannel.open(KPAGEFLAGS, StandardOpenOption.READ);
            } catch (IOException | SecurityException e) {
                ch = null; // not root: zero pages are read like the others
            }
            flags = ch;
        }

        boolean is(long pfn) throws IOException {
            if (flags == null) return false;
            Boolean known = seen.get(pfn);
            if (known != null) return known;
            one.clear();
            readFully(flags, one, pfn * 8);
            boolean zero = zeroPage(one.getLong(0));
            seen.put(pfn, zero);
            return zero;
        }

        @Override
        public void close() throws IOException {
            if (flags != null) flags.close();
        }
    }

    /**
     * Reads the pages a dump of process {@code pid} (host pid) would write into {@code sink},
     * in address order, in runs of up to {@value #BATCH_PAGES} pages.
     */
    public static Scan read(int pid, PageSink sink) throws IOException {
        ByteBuffer content = ByteBuffer.allocateDirect(BATCH_PAGES * PAGE_SIZE);
        return walk(pid, (mem, vaddr, pages) -> {
            content.clear().limit(pages * PAGE_SIZE);
            if (!readMem(mem, content, vaddr)) return 0;
            content.flip();
            sink.pages(vaddr, content);
            return pages;
        });
    }

    /**
     * The addresses of the pages a dump of process {@code pid} (host pid) would write, in the
     * order of its pages file, without reading them: where each page will lie in that file.
     */
    public static long[] addresses(int pid) throws IOException {
        java.util.stream.LongStream.Builder out = java.util.stream.LongStream.builder();
        walk(pid, (mem, vaddr, pages) -> {
            for (int k = 0; k < pages; k++) out.add(vaddr + (long) k * PAGE_SIZE);
            return pages;
        });
        return out.build().toArray();
    }

    /** A run of consecutive pages a dump would write; returns the pages taken. */
    @FunctionalInterface
    private interface RunSink {
        int run(FileChannel mem, long vaddr, int pages) throws IOException;
    }

    /** Goes over the pages a dump of {@code pid} would write, in address order, in runs of up to {@value #BATCH_PAGES}. */
    private static Scan walk(int pid, RunSink sink) throws IOException {
        long start = System.nanoTime();
        Path proc = Path.of("/proc", Integer.toString(pid));
        List<Region> regions = parseMaps(Files.readString(proc.resolve("maps")));
        long injection = injectionPage(regions);
        long pages = 0;
        long used = 0;
        try (FileChannel pagemap = FileChannel.open(proc.resolve("pagemap"), StandardOpenOption.READ);
             FileChannel mem = FileChannel.open(proc.resolve("mem"), StandardOpenOption.READ);
             ZeroPages zeroPages = new ZeroPages()) {
            ByteBuffer entries = ByteBuffer.allocateDirect(BATCH_PAGES * 8).order(ByteOrder.nativeOrder());
            for (Region r : regions) {
                if (!r.readable() || r.shared() || r.special()) continue;
                used++;
                for (long base = r.start(); base < r.end(); base += (long) BATCH_PAGES * PAGE_SIZE) {
                    int n = (int) Math.min(BATCH_PAGES, (r.end() - base) / PAGE_SIZE);
                    entries.clear().limit(n * 8);
                    readFully(pagemap, entries, (base / PAGE_SIZE) * 8);
                    entries.flip();
                    int i = 0;
                    while (i < n) {
                        if (!toRead(r, base + (long) i * PAGE_SIZE, injection, entries.getLong(i * 8), zeroPages)) {
                            i++;
                            continue;
                        }
                        int j = i;
                        while (j < n && toRead(r, base + (long) j * PAGE_SIZE, injection, entries.getLong(j * 8), zeroPages)) j++;
                        pages += sink.run(mem, base + (long) i * PAGE_SIZE, j - i);
                        i = j;
                    }
                }
            }
        }
        return new Scan(pid, pages, used, System.nanoTime() - start);
    }

    /** The process's pid inside its own pid namespace (the pid CRIU's images use). */
    public static int namespacePid(int hostPid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(hostPid), "status"))) {
            if (line.startsWith("NSpid:")) {
                String[] f = line.substring(6).trim().split("\\s+");
                return Integer.parseInt(f[f.length - 1]);
            }
        }
        return hostPid;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, position);
            if (r < 0) throw new IOException("unexpected end of /proc pagemap at " + position);
            position += r;
        }
    }

    /** Reads a run of pages; false if the mapping went away meanwhile (the process unmapped it). */
    private static boolean readMem(FileChannel mem, ByteBuffer buf, long vaddr) throws IOException {
        try {
            long pos = vaddr;
            while (buf.hasRemaining()) {
                int r = mem.read(buf, pos);
                if (r <= 0) return false;
                pos += r;
            }
            return true;
        } catch (IOException e) {
            if ("Input/output error".equals(e.getMessage())) return false;
            throw e;
        }
    }
}
