package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * A {@link PageStore} whose page bytes stay in files (the published pages files and an
 * append-only file of live pages under the migration's directory); only a small index per page
 * (file, offset, digest) is in memory, so a large image costs little heap.
 */
public final class FilePageStore implements PageStore {
    private record Location(Segment segment, long offset, long digest) {}

    private record Segment(FileChannel channel, int round) {}

    private final Map<PageKey, Location> index = new HashMap<>();
    private final Map<Path, Segment> roundFiles = new HashMap<>();
    private final Path liveFile;
    private FileChannel live;
    private Segment liveSegment;
    private int newestRound = -1;

    /** A store keeping its live pages in {@code directory/live-pages.bin}. */
    public FilePageStore(Path directory) {
        this.liveFile = directory.resolve("live-pages.bin");
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
    public synchronized int readRun(String space, long[] vaddrs, int from, int count, byte[] dst, int off) {
        Location first = index.get(new PageKey(space, vaddrs[from]));
        if (first == null) return 0;
        int n = 1;
        while (n < count) {
            Location l = index.get(new PageKey(space, vaddrs[from + n]));
            if (l == null || l.segment() != first.segment() || l.offset() != first.offset() + (long) n * PageHash.PAGE_SIZE) break;
            n++;
        }
        ByteBuffer b = ByteBuffer.wrap(dst, off, n * PageHash.PAGE_SIZE);
        try {
            long pos = first.offset();
            while (b.hasRemaining()) {
                int r = first.segment().channel().read(b, pos);
                if (r < 0) return 0;
                pos += r;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading held pages of " + space + " from 0x" + Long.toHexString(vaddrs[from]), e);
        }
        return n;
    }

    @Override
    public synchronized void putLive(PageKey key, byte[] src, int off) {
        try {
            if (live == null) {
                live = FileChannel.open(liveFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                liveSegment = new Segment(live, Integer.MAX_VALUE);
            }
            long pos = live.size();
            ByteBuffer b = ByteBuffer.wrap(src, off, PageHash.PAGE_SIZE);
            long p = pos;
            while (b.hasRemaining()) p += live.write(b, p);
            index.put(key, new Location(liveSegment, pos, PageHash.of(src, off)));
        } catch (IOException e) {
            throw new UncheckedIOException("storing live page " + key + " in " + liveFile, e);
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
                seg = new Segment(FileChannel.open(pagesFile, StandardOpenOption.READ), round);
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
    public synchronized int size() {
        return index.size();
    }

    @Override
    public synchronized void close() {
        roundFiles.values().forEach(s -> closeChannel(s.channel()));
        roundFiles.clear();
        if (live != null) closeChannel(live);
        index.clear();
    }

    private static void closeChannel(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + c, e);
        }
    }
}
