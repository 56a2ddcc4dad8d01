package org.migrationmesh.transfer.lazy;

import org.migrationmesh.transfer.PagemapImage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The lazy pages of a checkpoint not yet asked of the page server, per process (virtual pid):
 * disjoint, coalesced {@code [start, end)} byte ranges of page-aligned virtual addresses.
 * Mutable; not thread-safe.
 */
final class LazyRanges {
    private static final Pattern PAGEMAP = Pattern.compile("pagemap-(\\d+)\\.img");
    private final NavigableMap<Long, NavigableMap<Long, Long>> byPid = new TreeMap<>();
    private long pages;

    /**
     * The entries flagged PE_LAZY of every {@code pagemap-PID.img} in {@code imageDir}.
     *
     * @throws IllegalArgumentException if there is no such file (images not written yet?) or one does not parse
     */
    static LazyRanges fromImages(Path imageDir) {
        LazyRanges r = new LazyRanges();
        int pagemaps = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(imageDir, "pagemap-*.img")) {
            for (Path f : files) {
                Matcher m = PAGEMAP.matcher(f.getFileName().toString());
                if (!m.matches()) continue; // pagemap-shmem-*: not served lazily
                long pid = Long.parseLong(m.group(1));
                pagemaps++;
                for (PagemapImage.Entry e : PagemapImage.parse(Files.readAllBytes(f)).entries()) {
                    if (e.flags() >= 0 && (e.flags() & PagemapImage.PE_LAZY) != 0) {
                        r.add(pid, e.vaddr(), e.vaddr() + e.nrPages() * PageServerIov.PAGE_SIZE);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the lazy pagemaps in " + imageDir, e);
        }
        if (pagemaps == 0) throw new IllegalArgumentException("no pagemap-PID.img in " + imageDir + " (checkpoint images not written yet?)");
        return r;
    }

    /** Adds {@code [start, end)} (page-aligned) to {@code pid}'s remaining pages. */
    void add(long pid, long start, long end) {
        if (start >= end) return;
        remove(pid, start, end); // keeps the page count exact when ranges overlap
        pages += (end - start) / PageServerIov.PAGE_SIZE;
        NavigableMap<Long, Long> m = byPid.computeIfAbsent(pid, p -> new TreeMap<>());
        Map.Entry<Long, Long> before = m.floorEntry(start);
        if (before != null && before.getValue() == start) {
            m.remove(before.getKey());
            start = before.getKey();
        }
        Long after = m.remove(end);
        if (after != null) end = after;
        m.put(start, end);
    }

    /** Removes {@code [start, end)} of {@code pid} wherever it overlaps. */
    void remove(long pid, long start, long end) {
        NavigableMap<Long, Long> m = byPid.get(pid);
        if (m == null || start >= end) return;
        Map.Entry<Long, Long> e = m.lowerEntry(end);
        while (e != null && e.getValue() > start) {
            long s = e.getKey(), t = e.getValue();
            m.remove(s);
            if (s < start) m.put(s, start);
            if (t > end) m.put(end, t);
            pages -= (Math.min(t, end) - Math.max(s, start)) / PageServerIov.PAGE_SIZE;
            e = m.lowerEntry(s);
        }
        if (m.isEmpty()) byPid.remove(pid);
    }

    /**
     * Takes (removes and returns) up to {@code maxBytes} of {@code pid}'s remaining pages,
     * starting at {@code hint} if it is remaining, else at the next remaining range above it,
     * else at the lowest one; or of the lowest pid with pages if {@code pid} has none left.
     * Null when nothing is left.
     */
    PageServerIov take(long pid, long hint, long maxBytes) {
        if (byPid.isEmpty()) return null;
        NavigableMap<Long, Long> m = byPid.get(pid);
        if (m == null) {
            pid = byPid.firstKey();
            m = byPid.get(pid);
        }
        long aligned = hint & -PageServerIov.PAGE_SIZE;
        Map.Entry<Long, Long> e = m.floorEntry(aligned);
        long start;
        if (e != null && e.getValue() > aligned) {
            start = aligned;
        } else {
            e = m.ceilingEntry(aligned);
            if (e == null) e = m.firstEntry();
            start = e.getKey();
        }
        long end = Math.min(e.getValue(), start + Math.max(PageServerIov.PAGE_SIZE, maxBytes & -PageServerIov.PAGE_SIZE));
        remove(pid, start, end);
        return PageServerIov.get(pid, start, (end - start) / PageServerIov.PAGE_SIZE);
    }

    /** An independent copy. */
    LazyRanges copy() {
        LazyRanges c = new LazyRanges();
        byPid.forEach((pid, m) -> c.byPid.put(pid, new TreeMap<>(m)));
        c.pages = pages;
        return c;
    }

    long pages() {
        return pages;
    }

    boolean isEmpty() {
        return byPid.isEmpty();
    }
}
