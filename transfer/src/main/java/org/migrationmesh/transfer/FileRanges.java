package org.migrationmesh.transfer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Inserts ranges into a file and collapses ranges out of it, what follows moving up or down, by
 * moving those bytes within the file through one buffer: the file's pages stay in the page
 * cache and no new ones are allocated. Measured on the tour's live files (20 MiB, ext4), that is
 * several times cheaper than copying the file to a new one, and cheaper than fallocate(2)'s
 * FALLOC_FL_INSERT_RANGE / COLLAPSE_RANGE too, which first write back the file's dirty pages and
 * then drop them from the page cache, so that the next read of the file goes to disk.
 */
final class FileRanges {
    /** Bytes moved per read and write. */
    private static final int PIECE = 1 << 20;

    private FileRanges() {
    }

    /** Inserts {@code length} bytes (zeros) at {@code offset} of {@code file}, moving what follows up. */
    static void insert(FileChannel file, long offset, long length) throws IOException {
        long size = file.size();
        if (offset > size) throw new IOException("insert at " + offset + " beyond the end " + size);
        ByteBuffer b = ByteBuffer.allocateDirect((int) Math.min(PIECE, Math.max(size - offset, 1)));
        // From the end down: each piece is read before anything is written over it.
        for (long end = size; end > offset; ) {
            long from = Math.max(offset, end - b.capacity());
            read(file, b, from, (int) (end - from));
            write(file, b, from + length);
            end = from;
        }
        zero(file, offset, length);
    }

    /** Removes bytes {@code [offset, offset + length)} of {@code file}, moving what follows down. */
    static void collapse(FileChannel file, long offset, long length) throws IOException {
        long size = file.size();
        if (offset + length > size) throw new IOException("collapse of [" + offset + ", " + (offset + length) + ") beyond the end " + size);
        ByteBuffer b = ByteBuffer.allocateDirect((int) Math.min(PIECE, Math.max(size - offset - length, 1)));
        // From the start up: each piece is read before anything is written over it.
        for (long from = offset + length; from < size; ) {
            int n = (int) Math.min(b.capacity(), size - from);
            read(file, b, from, n);
            write(file, b, from - length);
            from += n;
        }
        file.truncate(size - length);
    }

    private static void read(FileChannel file, ByteBuffer b, long from, int n) throws IOException {
        b.clear().limit(n);
        while (b.hasRemaining()) {
            if (file.read(b, from + b.position()) < 0) throw new IOException("file ended at " + (from + b.position()));
        }
        b.flip();
    }

    private static void write(FileChannel file, ByteBuffer b, long at) throws IOException {
        long pos = at;
        while (b.hasRemaining()) pos += file.write(b, pos);
    }

    private static void zero(FileChannel file, long offset, long length) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(PIECE, Math.max(length, 1)));
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(zeros.capacity(), length - done);
            zeros.clear().limit(n);
            write(file, zeros, offset + done);
            done += n;
        }
    }
}
