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
 * Reads the memory a checkpoint would contain from a process that keeps running: the private
 * pages that are present or swapped (by /proc/PID/pagemap), read from /proc/PID/mem. This is
 * pre-copy without kernel dirty tracking: pages read now are sent ahead, and the final dump's
 * transfer skips every page whose content at that address did not change.
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

        /** Kernel-provided areas that CRIU handles by itself and /proc/PID/mem cannot read usefully. */
        boolean special() {
            return path.equals("[vsyscall]") || path.equals("[vvar]") || path.equals("[vdso]") || path.startsWith("[vvar");
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
     * Reads every private present page of process {@code pid} (host pid) into {@code sink},
     * in address order, in runs of up to {@value #BATCH_PAGES} pages.
     */
    public static Scan read(int pid, PageSink sink) throws IOException {
        long start = System.nanoTime();
        Path proc = Path.of("/proc", Integer.toString(pid));
        List<Region> regions = parseMaps(Files.readString(proc.resolve("maps")));
        long pages = 0;
        long used = 0;
        try (FileChannel pagemap = FileChannel.open(proc.resolve("pagemap"), StandardOpenOption.READ);
             FileChannel mem = FileChannel.open(proc.resolve("mem"), StandardOpenOption.READ)) {
            ByteBuffer entries = ByteBuffer.allocateDirect(BATCH_PAGES * 8).order(ByteOrder.nativeOrder());
            ByteBuffer content = ByteBuffer.allocateDirect(BATCH_PAGES * PAGE_SIZE);
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
                        if (!worthReading(entries.getLong(i * 8))) {
                            i++;
                            continue;
                        }
                        int j = i;
                        while (j < n && worthReading(entries.getLong(j * 8))) j++;
                        long vaddr = base + (long) i * PAGE_SIZE;
                        content.clear().limit((j - i) * PAGE_SIZE);
                        if (readMem(mem, content, vaddr)) {
                            content.flip();
                            sink.pages(vaddr, content);
                            pages += j - i;
                        }
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
