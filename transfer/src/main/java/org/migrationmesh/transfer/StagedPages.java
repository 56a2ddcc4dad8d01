package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.zip.CRC32C;

/**
 * A planned pages file being rebuilt in a receiver's staging directory. Once planned, the pages
 * the receiver holds are laid out in place ({@link #layOutInBackground}): the live file of the address space
 * becomes the file when it is already in file order, and other held runs are copied file to file
 * by the kernel; chunks then write only what travels ({@link ChunkCodec#decodePages}) and each
 * chunk's range is read back for its CRC32C, but for the pages of a live file read back before
 * the freeze and not written since, whose CRCs were kept ({@link ReadBackCrcs}). So the work per
 * round follows what changed, plus at most one read of the file from the page cache for the
 * checks, and no page crosses the heap unless it was sent.
 */
final class StagedPages implements ChunkCodec.PagesTarget, AutoCloseable {
    private final Path path;
    private final String space;
    private final long[] vaddrs;
    /** Pages laid out from what the receiver held, and the digests they were held with. */
    private final BitSet inPlace;
    private final long[] inPlaceDigests;
    private FileChannel channel;
    /** Pages the last layout took in place with the live file, and pages it copied from other files. */
    private volatile int yielded;
    private volatile int copied;
    /**
     * The CRC32C of pages as read back from the file (the live file's, before it became this one) and not
     * written since: the check of a chunk reads only the others ({@link #crc32c}).
     */
    private ReadBackCrcs readBack = new ReadBackCrcs();
    /** Pages the checks read back from the file so far. */
    private int pagesReadBack;
    /** Runs of pages up to this long are read back by a read, longer ones through a mapping. */
    private static final int SMALL_READ_PAGES = 16;
    private ByteBuffer smallRead;
    /** A layout running in the background, or null. Touched only by the session's thread of the moment. */
    private CompletableFuture<Void> layingOut;

    StagedPages(Path path, String space, long[] vaddrs) {
        this.path = path;
        this.space = space;
        this.vaddrs = vaddrs;
        this.inPlace = new BitSet(vaddrs.length);
        this.inPlaceDigests = new long[vaddrs.length];
    }

    /** Whether page {@code page} lies in place with this digest (so a later plan needs not ask for it). */
    boolean holds(int page, long digest) {
        awaitLayOut();
        return inPlace.get(page) && inPlaceDigests[page] == digest;
    }

    /**
     * Puts in place the pages of {@code held} (those the plan said the receiver holds, with the
     * sender's {@code digests}) from page {@code verifiedBytes / 4096} on, on {@code executor}:
     * it returns at once, so the receiver answers the plan while it copies the pages it holds (on
     * a long link the copy is over before the first chunk arrives). Every other method waits for
     * the layout to end first, and the first of them throws its failure. A page no longer held
     * stays out; a chunk calling it held is then refused.
     */
    void layOutInBackground(long[] digests, BitSet held, long verifiedBytes, long length, PageStore store, Executor executor) {
        awaitLayOut();
        layingOut = CompletableFuture.runAsync(() -> layOut(digests, held, verifiedBytes, length, store), executor);
    }

    /** Waits for a layout in the background to end; throws its failure (once). */
    void awaitLayOut() {
        CompletableFuture<Void> f = layingOut;
        if (f == null) return;
        layingOut = null;
        try {
            f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException("laying out staged " + path, e.getCause());
        }
    }

    private void layOut(long[] digests, BitSet held, long verifiedBytes, long length, PageStore store) {
        try {
            if (verifiedBytes == 0 && inPlace.isEmpty()) {
                closeChannel();
                Optional<PageStore.Yielded> yielded = store.yieldLiveFile(space, vaddrs, digests, path);
                if (yielded.isPresent()) {
                    this.yielded = yielded.get().inPlace().cardinality();
                    inPlace.or(yielded.get().inPlace());
                    readBack = ReadBackCrcs.of(yielded.get().readBackCrcs(), yielded.get().readBack());
                    for (int p = inPlace.nextSetBit(0); p >= 0; p = inPlace.nextSetBit(p + 1)) inPlaceDigests[p] = digests[p];
                }
            }
            FileChannel ch = channel();
            if (ch.size() > length) ch.truncate(length);
            readBack.forgetFrom(length / PageHash.PAGE_SIZE);
            for (int p = held.nextSetBit((int) (verifiedBytes / PageHash.PAGE_SIZE)); p >= 0; ) {
                if (inPlace.get(p)) {
                    p = held.nextSetBit(p + 1);
                    continue;
                }
                int run = 1;
                while (p + run < vaddrs.length && held.get(p + run) && !inPlace.get(p + run)) run++;
                readBack.forget(p, p + run);
                int got = store.transferRun(space, vaddrs, digests, p, run, ch, (long) p * PageHash.PAGE_SIZE);
                copied += Math.max(got, 0);
                if (got > 0) {
                    inPlace.set(p, p + got);
                    System.arraycopy(digests, p, inPlaceDigests, p, got);
                }
                p = held.nextSetBit(p + Math.max(got, 1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("laying out staged " + path, e);
        }
    }

    /**
     * {pages taken in place with the live file, pages copied from other held files} by the layouts so
     * far, and the pages the chunks' checks read back from the file (the others' CRCs were read back
     * from the live file before).
     */
    int[] laidOut() {
        awaitLayOut();
        return new int[] {yielded, copied, pagesReadBack};
    }

    /** Pages {@code [from, to)} may have been overwritten (a refused chunk): none of them counts as held any more. */
    void forget(int from, int to) {
        awaitLayOut();
        inPlace.clear(from, to);
        readBack.forget(from, to);
    }

    @Override
    public boolean heldInPlace(int index) {
        awaitLayOut();
        return inPlace.get(index);
    }

    @Override
    public boolean zeroInPlace(int index) {
        awaitLayOut();
        return holds(index, PageHash.ZERO);
    }

    @Override
    public void write(int index, byte[] src, int off, int count) {
        awaitLayOut();
        readBack.forget(index, index + count);
        ByteBuffer b = ByteBuffer.wrap(src, off, count * PageHash.PAGE_SIZE);
        long pos = (long) index * PageHash.PAGE_SIZE;
        try {
            FileChannel ch = channel();
            while (b.hasRemaining()) pos += ch.write(b, pos);
        } catch (IOException e) {
            throw new UncheckedIOException("writing staged " + path, e);
        }
    }

    @Override
    public void copy(int from, int to) {
        awaitLayOut();
        ByteBuffer b = ByteBuffer.allocate(PageHash.PAGE_SIZE);
        read(b, (long) from * PageHash.PAGE_SIZE);
        write(to, b.array(), 0, 1); // forgets what was read back there
    }

    /**
     * Read back from the page cache through a mapping, not copied out, but for pages read back from
     * the live file this file was (before the source froze) and not written since, whose CRCs are
     * taken as they were read then.
     */
    @Override
    public int crc32c(int index, int count) {
        awaitLayOut();
        try {
            FileChannel ch = channel();
            long end = (long) (index + count) * PageHash.PAGE_SIZE;
            if (ch.size() < end) throw new ChunkCodec.BadChunkException("page " + ch.size() / PageHash.PAGE_SIZE + " was never written");
            int crc = 0;
            for (int p = index; p < index + count; ) {
                boolean known = readBack.known(p);
                int to = p + 1;
                while (to < index + count && readBack.known(to) == known) to++;
                int run;
                if (known) {
                    run = readBack.ofRun(p, to - p);
                } else if (to - p <= SMALL_READ_PAGES) { // a few pages written by the chunk: a read costs less than a mapping
                    if (smallRead == null) smallRead = ByteBuffer.allocateDirect(SMALL_READ_PAGES * PageHash.PAGE_SIZE);
                    ByteBuffer b = smallRead.clear().limit((to - p) * PageHash.PAGE_SIZE);
                    read(b, (long) p * PageHash.PAGE_SIZE);
                    CRC32C c = new CRC32C();
                    c.update(b.flip());
                    run = (int) c.getValue();
                    pagesReadBack += to - p;
                } else {
                    try (MappedPages pages = MappedPages.map(ch, p, to - p)) {
                        run = pages.crc32c(p, to - p);
                    }
                    pagesReadBack += to - p;
                }
                crc = p == index ? run : PageCrcs.combine(crc, run, (long) (to - p) * PageHash.PAGE_SIZE);
                p = to;
            }
            return crc;
        } catch (IOException e) {
            throw new UncheckedIOException("reading staged " + path, e);
        }
    }

    private void read(ByteBuffer b, long pos) {
        try {
            FileChannel ch = channel();
            long start = pos - b.position();
            while (b.hasRemaining()) {
                if (ch.read(b, start + b.position()) < 0) {
                    throw new ChunkCodec.BadChunkException("page " + (start + b.position()) / PageHash.PAGE_SIZE + " was never written");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading staged " + path, e);
        }
    }

    private FileChannel channel() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
        }
        return channel;
    }

    /** Waits for a layout in the background (its failure no longer matters), then closes the file. */
    @Override
    public void close() {
        try {
            awaitLayOut();
        } catch (RuntimeException e) {
            // closing: the layout is abandoned, the file rebuilt or deleted
        }
        closeChannel();
    }

    private void closeChannel() {
        if (channel == null) return;
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing staged " + path, e);
        } finally {
            channel = null;
        }
    }
}
