package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * The {@link PageHash} digest and the CRC32C of every page of the pages files of an image, in
 * one pass over the files mapped read-only (no copy out of the page cache). The pages go in
 * blocks of {@value #BLOCK_PAGES} to threads (one per core, at most {@value #MAX_THREADS}; the
 * caller's thread is one of them) once there are at least {@value #PAGES_PER_THREAD} pages per
 * thread: the scan is a pass over the whole image before the Begin, so it alone decides how long
 * the other cores idle.
 */
final class PagesFileScan {
    private static final int MAX_THREADS = 4;
    private static final int PAGES_PER_THREAD = 1024;
    /** Pages a thread takes (and maps) at a time: 1 MiB. */
    static final int BLOCK_PAGES = 256;

    private PagesFileScan() {}

    /**
     * One pages file: where, how long when listed, the arrays the scan fills (a digest and a
     * CRC32C per page) and how many of its first pages are filled already ({@link PagesFileFollower}).
     */
    record Target(Path path, long size, long[] digests, int[] crcs, int first) {
        Target(Path path, long size) {
            this(path, size, new long[Math.toIntExact(size / PageHash.PAGE_SIZE)], new int[Math.toIntExact(size / PageHash.PAGE_SIZE)], 0);
        }

        /** This file with its first pages as {@code ahead} digested them, if they fit in it (else as it was). */
        Target after(PagesFileFollower.Digested ahead) {
            if (ahead == null || ahead.pages() > digests.length) return this;
            System.arraycopy(ahead.digests(), 0, digests, 0, ahead.pages());
            System.arraycopy(ahead.crcs(), 0, crcs, 0, ahead.pages());
            return new Target(path, size, digests, crcs, ahead.pages());
        }

        int left() {
            return digests.length - first;
        }
    }

    /** Fills the digests and CRC32Cs of {@code files}; returns once all are computed, or throws what failed. */
    static void scan(List<Target> files) {
        scan(files, () -> {});
    }

    /**
     * As {@link #scan(List)}, with {@code first} run on the caller's thread while the other
     * threads start on the pages; the caller then takes its share. The pages go out in blocks of
     * {@value #BLOCK_PAGES} to whichever thread is free, so that one with other work (the caller
     * hashes the image's other files first) or less of a core does not hold the others back.
     */
    static void scan(List<Target> files, Runnable first) {
        long total = 0;
        for (Target f : files) total += f.left();
        int threads = (int) Math.max(1, Math.min(Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()),
                total / PAGES_PER_THREAD));
        long blocks = (total + BLOCK_PAGES - 1) / BLOCK_PAGES;
        AtomicLong next = new AtomicLong();
        long pages = total;
        Runnable work = () -> {
            for (long k; (k = next.getAndIncrement()) < blocks; ) {
                scanRange(files, k * BLOCK_PAGES, Math.min(pages, (k + 1) * BLOCK_PAGES));
            }
        };
        List<Thread> started = new ArrayList<>();
        Throwable[] failure = new Throwable[threads];
        for (int k = 1; k < threads; k++) {
            int part = k;
            Thread t = new Thread(() -> {
                try {
                    work.run();
                } catch (Throwable e) {
                    failure[part] = e;
                    next.set(blocks); // the others stop too
                }
            }, "image-scan-" + k);
            t.setDaemon(true);
            t.start();
            started.add(t);
        }
        try {
            first.run();
            work.run();
        } catch (RuntimeException | Error e) {
            failure[0] = e;
            next.set(blocks);
        }
        try {
            for (Thread t : started) t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted scanning pages files", e);
        }
        for (Throwable e : failure) {
            if (e instanceof RuntimeException re) throw re;
            if (e instanceof Error err) throw err;
            if (e != null) throw new IllegalStateException("scanning pages files", e);
        }
    }

    /** Pages {@code [from, to)} of the pages left to scan of the files, laid one after the other. */
    private static void scanRange(List<Target> files, long from, long to) {
        long first = 0; // of the file at hand
        for (Target f : files) {
            int n = f.left();
            int a = (int) Math.max(0, Math.min(n, from - first)), b = (int) Math.max(0, Math.min(n, to - first));
            if (a < b) scanPages(f, f.first() + a, f.first() + b);
            first += n;
        }
    }

    /**
     * Digests pages {@code [from, to)} of {@code f} (a block at most) through a read-only mapping: a {@code read}
     * would copy each page out of the page cache first, which cost more than the CRCs (20 MiB
     * from tmpfs on this VM: ~6 ms to read, ~2.5 ms to digest, ~3 ms for the mapping's faults).
     */
    private static void scanPages(Target f, int from, int to) {
        try (FileChannel ch = FileChannel.open(f.path(), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            if (ch.size() != f.size()) throw new IllegalStateException(f.path() + " changed while scanned: " + f.size() + " -> " + ch.size());
            try (MappedPages mapped = MappedPages.map(ch, from, to - from)) {
                mapped.digest(from, to - from, f.digests(), f.crcs(), new CRC32C());
            }
            if (ch.size() != f.size()) throw new IllegalStateException(f.path() + " changed while scanned: " + f.size() + " -> " + ch.size());
        } catch (IOException e) {
            throw new UncheckedIOException("reading image file " + f.path(), e);
        }
    }
}
