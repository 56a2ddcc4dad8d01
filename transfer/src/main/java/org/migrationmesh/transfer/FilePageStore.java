package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link PageStore} whose page bytes stay in files (the published pages files and one file of
 * live pages per address space under the migration's directory); only a small index per page
 * (file, offset, digest) is in memory, so a large image costs little heap.
 *
 * <p>A live page sent again (it changed since it was read) overwrites its earlier copy in place,
 * so a space's live file keeps the order the pages first came in: the order the source reads
 * memory, ascending addresses, which is also the order of the pages file of the final dump, but
 * for a few pages (those the dump has and the live read skipped, or the reverse). Then that
 * file can become the pages file with those few pages moved, and the stretches after them
 * shifted by inserting or collapsing ranges ({@link #yieldLiveFile}, {@link LiveFileEdits}).
 */
public final class FilePageStore implements PageStore {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FilePageStore.class);

    private record Location(Segment segment, long offset, long digest) {}

    private record Segment(FileChannel channel, Path path, int round) {}

    /**
     * {@link #yieldLiveFile} gives the live file up only if the pages file leaves out at most this
     * fraction (1/n) of the pages it holds: they would no longer be held.
     */
    private static final int LEFT_OUT_OF_YIELD = 8;
    /** Pages held out of file order that {@link #yieldLiveFile} moves into place at most (16 MiB). */
    private static final int MAX_MISPLACED = 4096;
    /** Held pages lying one after the other from this many on are copied by the kernel; fewer are gathered. */
    private static final int KERNEL_COPY_PAGES = 16;
    /** Scattered held pages on their way to one write (1 MiB). */
    private ByteBuffer gather;
    private final Map<PageKey, Location> index = new HashMap<>();
    private final Map<Path, Segment> roundFiles = new HashMap<>();
    private final Map<String, Segment> liveFiles = new HashMap<>();
    /** Where the next page goes in each live file: its size but for holes kept for pages not held. */
    private final Map<String, Long> liveEnds = new HashMap<>();
    /** Per live file: the CRC32C of its pages as last read back, forgotten where it is written since. */
    private final Map<String, ReadBackCrcs> liveReadBack = new HashMap<>();
    /** Pages read back at once by {@link #readBackLiveFiles} (1 MiB), under this store's lock. */
    private static final int READ_BACK_PAGES = 256;
    private ByteBuffer readBackBuffer;
    /** Keys whose held page is the frozen process's ({@link #markFrozen}). */
    private final java.util.Set<PageKey> frozen = new java.util.HashSet<>();
    private final Path directory;
    private int liveFilesMade;
    private int newestRound = -1;

    /** A store keeping its live pages in {@code directory/live-<n>.bin}, one file per address space. */
    public FilePageStore(Path directory) {
        this.directory = directory;
    }

    @Override
    public synchronized boolean holds(PageKey key, long digest) {
        Location l = index.get(key);
        return l != null && l.digest() == digest;
    }

    @Override
    public synchronized boolean read(PageKey key, byte[] dst, int off) {
        Location l = index.get(key);
        if (l == null) return false;
        ByteBuffer b = ByteBuffer.wrap(dst, off, PageHash.PAGE_SIZE);
        try {
            long pos = l.offset();
            while (b.hasRemaining()) {
                int n = l.segment().channel().read(b, pos);
                if (n < 0) return false;
                pos += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading held page " + key, e);
        }
        return true;
    }

    @Override
    public synchronized int transferRun(String space, long[] vaddrs, long[] digests, int from, int count, FileChannel dst,
                                        long dstPosition) {
        if (gather == null) gather = ByteBuffer.allocateDirect(256 * PageHash.PAGE_SIZE);
        int n = 0;
        int gathered = 0; // pages in gather, for pages [n - gathered, n)
        try {
            while (n < count) {
                Location first = index.get(new PageKey(space, vaddrs[from + n]));
                if (first == null || first.digest() != digests[from + n]) break;
                int run = 1;
                while (n + run < count) {
                    Location l = index.get(new PageKey(space, vaddrs[from + n + run]));
                    if (l == null || l.digest() != digests[from + n + run] || l.segment() != first.segment()
                            || l.offset() != first.offset() + (long) run * PageHash.PAGE_SIZE) break;
                    run++;
                }
                long at = dstPosition + (long) n * PageHash.PAGE_SIZE;
                if (run >= KERNEL_COPY_PAGES) {
                    flushGathered(dst, at - (long) gathered * PageHash.PAGE_SIZE);
                    gathered = 0;
                    FileChannel src = first.segment().channel();
                    long len = (long) run * PageHash.PAGE_SIZE;
                    for (long done = 0; done < len; ) {
                        long k = src.transferTo(first.offset() + done, len - done, dst.position(at + done));
                        if (k <= 0) throw new IOException("held pages end early at " + (first.offset() + done));
                        done += k;
                    }
                } else {
                    if (gather.remaining() < run * PageHash.PAGE_SIZE) {
                        flushGathered(dst, at - (long) gathered * PageHash.PAGE_SIZE);
                        gathered = 0;
                    }
                    int limit = gather.position() + run * PageHash.PAGE_SIZE;
                    gather.limit(limit);
                    long pos = first.offset() - gather.position();
                    while (gather.hasRemaining()) {
                        if (first.segment().channel().read(gather, pos + gather.position()) < 0) {
                            throw new IOException("held pages end early at " + (pos + gather.position()));
                        }
                    }
                    gather.limit(gather.capacity());
                    gathered += run;
                }
                n += run;
            }
            flushGathered(dst, dstPosition + (long) (n - gathered) * PageHash.PAGE_SIZE);
        } catch (IOException e) {
            gather.clear();
            throw new UncheckedIOException("copying held pages of " + space + " from 0x" + Long.toHexString(vaddrs[from]), e);
        }
        return n;
    }

    /** Writes the pages gathered so far at {@code position} of {@code dst}, one call for scattered pages. */
    private void flushGathered(FileChannel dst, long position) throws IOException {
        gather.flip();
        long pos = position;
        while (gather.hasRemaining()) pos += dst.write(gather, pos);
        gather.clear();
    }

    @Override
    public synchronized Optional<Yielded> yieldLiveFile(String space, long[] vaddrs, long[] digests, Path target) {
        Segment live = liveFiles.get(space);
        if (live == null) return Optional.empty();
        long[] livePage = new long[vaddrs.length];
        for (int i = 0; i < vaddrs.length; i++) {
            Location l = index.get(new PageKey(space, vaddrs[i]));
            livePage[i] = l == null || l.segment() != live || l.digest() != digests[i] ? -1 : l.offset() / PageHash.PAGE_SIZE;
        }
        LiveFileEdits.Plan plan = LiveFileEdits.plan(livePage);
        int[] misplaced = plan.misplaced();
        if (misplaced.length > MAX_MISPLACED) return Optional.empty(); // too far from file order: copying is cheaper
        BitSet inPlace = plan.inPlace();
        if (inPlace.cardinality() * 2L < vaddrs.length) return Optional.empty(); // copying is cheaper than patching
        long liveHeld = index.values().stream().filter(l -> l.segment() == live).count();
        long taken = inPlace.cardinality() + misplaced.length;
        if (liveHeld - taken > liveHeld / LEFT_OUT_OF_YIELD) return Optional.empty(); // the rest would be lost
        // Pages held out of place (the dump has a page or two more or less than what was read live) are read
        // before anything is overwritten, and written where the file wants them.
        byte[] moved = new byte[misplaced.length * PageHash.PAGE_SIZE];
        ReadBackCrcs readBack = liveReadBack.getOrDefault(space, new ReadBackCrcs());
        try {
            for (int k = 0; k < misplaced.length; k++) {
                ByteBuffer b = ByteBuffer.wrap(moved, k * PageHash.PAGE_SIZE, PageHash.PAGE_SIZE);
                long from = plan.misplacedFrom()[k] * PageHash.PAGE_SIZE;
                while (b.hasRemaining()) {
                    if (live.channel().read(b, from + b.position() - (long) k * PageHash.PAGE_SIZE) < 0) return Optional.empty();
                }
            }
            index.values().removeIf(l -> l.segment() == live);
            liveFiles.remove(space);
            liveEnds.remove(space);
            liveReadBack.remove(space);
            // what was read back stays true where the edits leave the pages where they were: before the first place they touch
            plan.edits().stream().mapToLong(LiveFileEdits.Edit::at).min().ifPresent(readBack::forgetFrom);
            closeChannel(live.channel());
            Files.move(live.path(), target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            long tE = System.nanoTime();
            long settled = applyEdits(plan.edits(), target);
            if (!plan.edits().isEmpty()) {
                LOG.debug("live pages laid out by range edits file={} edits={} moved={} ms={}", target, plan.edits(),
                        misplaced.length, (System.nanoTime() - tE) / 1_000_000);
            }
            if (settled < vaddrs.length) inPlace.clear((int) settled, vaddrs.length);
            if (misplaced.length > 0) {
                try (FileChannel out = FileChannel.open(target, StandardOpenOption.WRITE)) {
                    for (int k = 0; k < misplaced.length && misplaced[k] < settled; k++) {
                        ByteBuffer b = ByteBuffer.wrap(moved, k * PageHash.PAGE_SIZE, PageHash.PAGE_SIZE);
                        long pos = (long) misplaced[k] * PageHash.PAGE_SIZE;
                        while (b.hasRemaining()) pos += out.write(b, pos);
                        inPlace.set(misplaced[k]);
                        readBack.forget(misplaced[k], misplaced[k] + 1L);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("moving live pages " + live.path() + " to " + target, e);
        }
        return Optional.of(new Yielded(inPlace, readBack.crcs(), readBack.known()));
    }

    /**
     * Makes {@code edits} on {@code file} in order; returns the page from which the file is not as
     * planned (an edit failed there: the pages from it on must come some other way), or
     * {@code Long.MAX_VALUE}.
     */
    private static long applyEdits(java.util.List<LiveFileEdits.Edit> edits, Path file) {
        if (edits.isEmpty()) return Long.MAX_VALUE;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (LiveFileEdits.Edit e : edits) {
                try {
                    if (e.insert()) FileRanges.insert(ch, e.at() * PageHash.PAGE_SIZE, e.pages() * PageHash.PAGE_SIZE);
                    else FileRanges.collapse(ch, e.at() * PageHash.PAGE_SIZE, -e.pages() * PageHash.PAGE_SIZE);
                } catch (IOException failed) {
                    LOG.warn("laying out live pages by range edits failed; the pages from the failed edit on are sent or"
                            + " copied file={} page={} error={}", file, e.at(), failed.getMessage());
                    return e.at();
                }
            }
        } catch (IOException e) {
            LOG.warn("laying out live pages by range edits failed; they are sent or copied file={} error={}", file, e.getMessage());
            return edits.get(0).at();
        }
        return Long.MAX_VALUE;
    }

    @Override
    public synchronized void putLive(PageKey key, byte[] src, int off) {
        try {
            Segment live = liveSegment(key.space());
            Location before = index.get(key);
            long end = liveEnds.get(key.space());
            long pos = before != null && before.segment() == live ? before.offset() : end;
            if (pos == end) liveEnds.put(key.space(), end + PageHash.PAGE_SIZE);
            ByteBuffer b = ByteBuffer.wrap(src, off, PageHash.PAGE_SIZE);
            long p = pos;
            while (b.hasRemaining()) p += live.channel().write(b, p);
            index.put(key, new Location(live, pos, PageHash.of(src, off)));
            liveReadBack.get(key.space()).forget(pos / PageHash.PAGE_SIZE, pos / PageHash.PAGE_SIZE + 1);
            frozen.remove(key);
        } catch (IOException e) {
            throw new UncheckedIOException("storing live page " + key + " in " + directory, e);
        }
    }

    @Override
    public int readBackLiveFiles() {
        java.util.List<String> spaces;
        synchronized (this) {
            spaces = java.util.List.copyOf(liveFiles.keySet());
        }
        int read = 0;
        for (String space : spaces) {
            for (int n; (n = readBackStep(space)) > 0; ) read += n;
        }
        return read;
    }

    /**
     * Reads back the first run of pages of the live file of {@code space} not read back since written
     * ({@value #READ_BACK_PAGES} at most, under the lock, so that a page sent live meanwhile waits for
     * little); returns the pages read, 0 when none is left.
     */
    private synchronized int readBackStep(String space) {
        Segment live = liveFiles.get(space);
        ReadBackCrcs readBack = liveReadBack.get(space);
        if (live == null || readBack == null) return 0; // yielded meanwhile
        try {
            long pages = live.channel().size() / PageHash.PAGE_SIZE;
            int first = readBack.nextUnknown(0);
            if (first >= pages) return 0;
            int n = 1;
            while (first + n < pages && n < READ_BACK_PAGES && !readBack.known(first + n)) n++;
            if (readBackBuffer == null) readBackBuffer = ByteBuffer.allocateDirect(READ_BACK_PAGES * PageHash.PAGE_SIZE);
            ByteBuffer b = readBackBuffer.clear().limit(n * PageHash.PAGE_SIZE);
            long pos = (long) first * PageHash.PAGE_SIZE;
            while (b.hasRemaining()) {
                if (live.channel().read(b, pos + b.position()) < 0) throw new IOException("ends at " + (pos + b.position()));
            }
            for (int k = 0; k < n; k++) readBack.put(first + k, PageCrcs.of(b, k * PageHash.PAGE_SIZE));
            return n;
        } catch (IOException e) {
            throw new UncheckedIOException("reading back the live pages of " + space + " in " + live.path(), e);
        }
    }

    @Override
    public synchronized void adoptRound(int round, Path pagesFile, String space, long[] vaddrs, long[] digests) {
        if (vaddrs.length != digests.length) throw new IllegalArgumentException(digests.length + " digests for " + vaddrs.length + " pages");
        if (round > newestRound) forgetRoundsBefore(round);
        newestRound = Math.max(newestRound, round);
        Segment seg = roundFiles.get(pagesFile);
        try {
            if (seg == null) {
                seg = new Segment(FileChannel.open(pagesFile, StandardOpenOption.READ), pagesFile, round);
                roundFiles.put(pagesFile, seg);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("opening published pages " + pagesFile, e);
        }
        for (int i = 0; i < vaddrs.length; i++) {
            index.put(new PageKey(space, vaddrs[i]), new Location(seg, (long) i * PageHash.PAGE_SIZE, digests[i]));
        }
    }

    private void forgetRoundsBefore(int round) {
        index.values().removeIf(l -> l.segment().round() < round);
        for (Iterator<Segment> it = roundFiles.values().iterator(); it.hasNext(); ) {
            Segment s = it.next();
            if (s.round() < round) {
                closeChannel(s.channel());
                it.remove();
            }
        }
    }

    @Override
    public synchronized void markFrozen(String space, long[] vaddrs) {
        for (long v : vaddrs) {
            PageKey k = new PageKey(space, v);
            if (index.containsKey(k)) frozen.add(k);
        }
    }

    @Override
    public synchronized boolean frozen(PageKey key) {
        return frozen.contains(key) && index.containsKey(key);
    }

    /**
     * Holds the pages of {@code file} (a kept parent image, never written here) at the addresses
     * {@code at} gives ({@code at[i]} for the page at offset {@code i * 4096}, -1 for none) of
     * {@code space}, unless a page is held there already; returns, for each page taken, its
     * address and digest ({@code [0]} addresses, {@code [1]} digests). Nothing is copied: the
     * pages are read to compute their digests. Such pages stay held as live ones do (a round
     * that publishes does not drop them), and a page sent live later replaces them.
     */
    @Override
    public synchronized int putLiveHeld(String space, long[] vaddrs, int from, int to) {
        long[] keys = new long[to - from];
        long[] digests = new long[to - from];
        int placed = 0;
        try {
            Segment live = liveSegment(space);
            long end = liveEnds.get(space);
            int n = 0; // held pages waiting to go, one after the other, at the end of the live file
            for (int i = from; i < to; i++) {
                Location l = index.get(new PageKey(space, vaddrs[i]));
                if (l != null && l.segment() == live) continue; // in the live file already
                if (l != null) {
                    keys[n] = vaddrs[i];
                    digests[n++] = l.digest();
                    continue;
                }
                placed += placeInLiveFile(space, live, keys, digests, n, end); // what waits goes first
                end += (long) (n + 1) * PageHash.PAGE_SIZE; // and this page's place stays empty, for the final image
                n = 0;
            }
            placed += placeInLiveFile(space, live, keys, digests, n, end);
            liveEnds.put(space, end + (long) n * PageHash.PAGE_SIZE);
            return placed;
        } catch (IOException e) {
            throw new UncheckedIOException("placing held pages of " + space + " in its live file in " + directory, e);
        }
    }

    /** Copies the held pages {@code keys[0..n)} of {@code space} into {@code live} from {@code at} on; returns those copied. */
    private int placeInLiveFile(String space, Segment live, long[] keys, long[] digests, int n, long at) {
        liveReadBack.get(space).forget(at / PageHash.PAGE_SIZE, at / PageHash.PAGE_SIZE + n);
        int copied = transferRun(space, keys, digests, 0, n, live.channel(), at);
        for (int k = 0; k < copied; k++) {
            index.put(new PageKey(space, keys[k]), new Location(live, at + (long) k * PageHash.PAGE_SIZE, digests[k]));
        }
        return copied;
    }

    @Override
    public synchronized java.util.OptionalLong digestOf(PageKey key) {
        Location l = index.get(key);
        return l == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(l.digest());
    }

    @Override
    public synchronized void forget(String space, long[] vaddrs, int from, int to) {
        for (int i = from; i < to; i++) {
            PageKey key = new PageKey(space, vaddrs[i]);
            index.remove(key);
            frozen.remove(key);
        }
    }

    /** The file of live pages of {@code space}, made when first needed. */
    private Segment liveSegment(String space) throws IOException {
        Segment live = liveFiles.get(space);
        if (live == null) {
            Path p = directory.resolve("live-" + liveFilesMade++ + ".bin");
            live = new Segment(FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE), p, Integer.MAX_VALUE);
            liveFiles.put(space, live);
            liveEnds.put(space, 0L);
            liveReadBack.put(space, new ReadBackCrcs());
        }
        return live;
    }

    public synchronized long[][] adoptParent(Path file, String space, long[] at) {
        Segment seg = roundFiles.get(file);
        try {
            if (seg == null) {
                seg = new Segment(FileChannel.open(file, StandardOpenOption.READ), file, Integer.MAX_VALUE);
                roundFiles.put(file, seg);
            }
            if (seg.channel().size() != (long) at.length * PageHash.PAGE_SIZE) {
                throw new IllegalArgumentException(file + " holds " + seg.channel().size() + " bytes for " + at.length + " pages");
            }
            long[] vaddrs = new long[at.length];
            long[] digests = new long[at.length];
            int n = 0;
            ByteBuffer block = ByteBuffer.allocate(256 * PageHash.PAGE_SIZE);
            for (int first = 0; first < at.length; first += 256) {
                int pages = Math.min(256, at.length - first);
                block.clear().limit(pages * PageHash.PAGE_SIZE);
                long pos = (long) first * PageHash.PAGE_SIZE;
                while (block.hasRemaining()) {
                    int r = seg.channel().read(block, pos + block.position());
                    if (r < 0) throw new IOException("short " + file);
                }
                for (int k = 0; k < pages; k++) {
                    long v = at[first + k];
                    if (v == -1) continue;
                    PageKey key = new PageKey(space, v);
                    if (index.containsKey(key)) continue;
                    long digest = PageHash.of(block, k * PageHash.PAGE_SIZE);
                    index.put(key, new Location(seg, (long) (first + k) * PageHash.PAGE_SIZE, digest));
                    vaddrs[n] = v;
                    digests[n++] = digest;
                }
            }
            return new long[][] {java.util.Arrays.copyOf(vaddrs, n), java.util.Arrays.copyOf(digests, n)};
        } catch (IOException e) {
            throw new UncheckedIOException("adopting the parent pages " + file, e);
        }
    }

    /**
     * One file of held pages and what it holds: {@code vaddrs[i]} is the address (in
     * {@code space}) of the page at offset {@code i * 4096}, or -1 where the file's page is not
     * the newest held for its key (or belongs to no key).
     */
    public record HeldFile(Path path, String space, long[] vaddrs) {}

    /**
     * The files that hold the newest content of every key, with what each holds: for keeping the
     * pages as they are (linked, not copied) once this store's migration has ended.
     */
    public synchronized java.util.List<HeldFile> heldFiles() {
        Map<Segment, long[]> bySegment = new java.util.LinkedHashMap<>();
        Map<Segment, String> spaceOf = new HashMap<>();
        for (Map.Entry<PageKey, Location> e : index.entrySet()) {
            Location l = e.getValue();
            String previous = spaceOf.putIfAbsent(l.segment(), e.getKey().space());
            if (previous != null && !previous.equals(e.getKey().space())) {
                throw new IllegalStateException(l.segment().path() + " holds pages of " + previous + " and " + e.getKey().space());
            }
            long[] v = bySegment.computeIfAbsent(l.segment(), seg -> {
                long[] a;
                try {
                    a = new long[Math.toIntExact(seg.channel().size() / PageHash.PAGE_SIZE)];
                } catch (IOException x) {
                    throw new UncheckedIOException("sizing " + seg.path(), x);
                }
                java.util.Arrays.fill(a, -1L);
                return a;
            });
            int i = Math.toIntExact(l.offset() / PageHash.PAGE_SIZE);
            if (i < v.length) v[i] = e.getKey().vaddr();
        }
        java.util.List<HeldFile> files = new java.util.ArrayList<>();
        bySegment.forEach((seg, v) -> files.add(new HeldFile(seg.path(), spaceOf.get(seg), v)));
        return files;
    }

    /** The keys held, in no order. */
    public synchronized java.util.List<PageKey> heldKeys() {
        return new java.util.ArrayList<>(index.keySet());
    }

    @Override
    public synchronized int size() {
        return index.size();
    }

    @Override
    public synchronized void close() {
        roundFiles.values().forEach(s -> closeChannel(s.channel()));
        roundFiles.clear();
        liveFiles.values().forEach(s -> closeChannel(s.channel()));
        liveFiles.clear();
        liveEnds.clear();
        liveReadBack.clear();
        index.clear();
        frozen.clear();
    }

    private static void closeChannel(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + c, e);
        }
    }
}
