package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.zip.CRC32C;

/**
 * Digests the pages files of an image while CRIU is still writing them, so that the scan before
 * the image is sent ({@link ImageSender#send}) is left with the pages written last. CRIU appends
 * pages to a pages file and never goes back (criu/page-xfer.c splices at the file's position),
 * and a page below the file's size has been written whole, so a page read once it lies below the
 * size is the page the image keeps. Without dirty-page tracking a final dump writes every page of
 * the container, and they were all digested after CRIU was done, in the downtime (20 MiB for the
 * game server: 10-18 ms on two cores; 400 MB: 121 ms); followed, they are digested on a core
 * CRIU leaves idle while it dumps (400 MB: 5 ms left after the dump).
 *
 * <p>One daemon thread follows every {@code pages-*.img} file that appears in the directory after
 * it started (one there before, say from an earlier dump, could be truncated and written again
 * under the same name), looking for new files every {@value #LIST_EVERY_MS} ms and for more pages
 * every {@value #POLL_MICROS} µs. It never fails the send: a file it cannot read, or that shrinks,
 * is left to the scan. A file written into pages made beforehand (its size is not what was
 * written) comes with the count of bytes written so far ({@link #start(Path, Map)}); it is read
 * only below that.
 */
public final class PagesFileFollower implements AutoCloseable {
    static final int LIST_EVERY_MS = 2;
    static final int POLL_MICROS = 200;
    /** Pages digested per step at most (256 KiB), so that a stop waits for little. */
    static final int STEP_PAGES = 64;
    /** Stops by itself after this long, should nobody stop it (a dump does not take that long). */
    static final long MOST_NANOS = TimeUnit.MINUTES.toNanos(30);

    /** The first {@code pages} pages of a pages file, digested. */
    public record Digested(long[] digests, int[] crcs, int pages) {}

    private final Path dir;
    /** By file name: the bytes written so far, for files whose size says nothing of it. */
    private final Map<String, LongSupplier> written;
    private final Thread thread;
    private final Map<String, Followed> files = new LinkedHashMap<>();
    /** Pages files there before it started: not followed. */
    private final Set<String> before = new HashSet<>();
    private volatile boolean stopping;
    private Map<String, Digested> result;

    private PagesFileFollower(Path dir, Map<String, LongSupplier> written) {
        this.dir = dir;
        this.written = Map.copyOf(written);
        this.thread = new Thread(this::follow, "pages-follower-" + dir.getFileName());
        this.thread.setDaemon(true);
    }

    /** Starts following the pages files that appear in {@code imageDir} (which may not exist yet). */
    public static PagesFileFollower start(Path imageDir) {
        return start(imageDir, Map.of());
    }

    /**
     * As {@link #start(Path)}; the files named in {@code written} are read only below the bytes
     * it gives for them (read before each step), not below their size.
     */
    public static PagesFileFollower start(Path imageDir, Map<String, LongSupplier> written) {
        PagesFileFollower f = new PagesFileFollower(imageDir, written);
        f.list(f.before);
        f.thread.start();
        return f;
    }

    /**
     * Stops following (the pages read by then are digested) and returns what was digested, by
     * file name; the same map on later calls.
     */
    public synchronized Map<String, Digested> stop() {
        if (result != null) return result;
        stopping = true;
        LockSupport.unpark(thread);
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        Map<String, Digested> out = new HashMap<>();
        for (Map.Entry<String, Followed> e : files.entrySet()) {
            Followed f = e.getValue();
            if (!f.failed && f.pages > 0) out.put(e.getKey(), new Digested(f.digests, f.crcs, f.pages));
        }
        result = Map.copyOf(out);
        return result;
    }

    @Override
    public void close() {
        stop();
    }

    private void follow() {
        CRC32C crc = new CRC32C();
        long started = System.nanoTime(), listed = 0;
        try {
            while (!stopping && System.nanoTime() - started < MOST_NANOS) {
                if (System.nanoTime() - listed >= TimeUnit.MILLISECONDS.toNanos(LIST_EVERY_MS)) {
                    listed = System.nanoTime();
                    list(null);
                }
                boolean more = false;
                for (Followed f : files.values()) more |= !f.failed && f.readOn(crc);
                if (!more) LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(POLL_MICROS));
            }
            // stopping: the images are complete, and the scan digests the rest on every core
        } finally {
            for (Followed f : files.values()) f.closeChannel();
        }
    }

    /** Lists the pages files: into {@code into} if given, else the new ones (not there {@link #before}) to follow. */
    private void list(Set<String> into) {
        if (!Files.isDirectory(dir)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "pages-*.img")) {
            for (Path p : ds) {
                // Only files: a FIFO at a pages image's path (CRIU writing through it) is followed once a file replaces it.
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) continue;
                String name = p.getFileName().toString();
                if (into != null) into.add(name);
                else if (!before.contains(name)) files.computeIfAbsent(name, n -> new Followed(p, written.get(n)));
            }
        } catch (IOException | UncheckedIOException e) {
            // the directory went away or is unreadable: the scan reads what is there
        }
    }

    /** One pages file: its channel and the pages digested so far. */
    private static final class Followed {
        final Path path;
        /** The bytes written so far, if the size does not say it; else null. */
        final LongSupplier written;
        FileChannel channel;
        long[] digests = new long[1024];
        int[] crcs = new int[1024];
        int pages;
        boolean failed;

        Followed(Path path, LongSupplier written) {
            this.path = path;
            this.written = written;
        }

        /** Digests up to {@value #STEP_PAGES} more pages if whole ones are there; whether it did. */
        boolean readOn(CRC32C crc) {
            try {
                if (channel == null) channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
                long size = channel.size();
                long whole = (written == null ? size : Math.min(size, written.getAsLong())) / PageHash.PAGE_SIZE;
                if (whole < pages) throw new IOException(path + " shrank while followed");
                if (whole == pages) return false;
                int n = (int) Math.min(STEP_PAGES, whole - pages);
                if (pages + n > digests.length) {
                    int grown = Math.max(pages + n, digests.length * 2);
                    digests = Arrays.copyOf(digests, grown);
                    crcs = Arrays.copyOf(crcs, grown);
                }
                try (MappedPages mapped = MappedPages.map(channel, pages, n)) { // below the size: written whole
                    mapped.digest(pages, n, digests, crcs, crc);
                }
                pages += n;
                return true;
            } catch (NoSuchFileException e) {
                failed = true;
                return false;
            } catch (IOException | RuntimeException | InternalError e) { // InternalError: the mapped file was truncated
                failed = true;
                closeChannel();
                return false;
            }
        }

        void closeChannel() {
            try {
                if (channel != null) channel.close();
            } catch (IOException ignored) {
                // read only
            }
        }
    }
}
