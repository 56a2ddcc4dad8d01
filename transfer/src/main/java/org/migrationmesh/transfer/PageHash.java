package org.migrationmesh.transfer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A fast 64-bit content digest of a 4 KiB page (xxHash64-style mixing over 8-byte lanes).
 *
 * <p>Used to decide whether a page changed and to find repeated pages. It is not collision-proof;
 * exactness comes from the CRC32C of every chunk, computed by the sender over the true bytes and
 * checked by the receiver over what it rebuilt, which a wrong match would fail (see
 * {@link ReceiveSession} for the odds).
 */
public final class PageHash {
    public static final int PAGE_SIZE = 4096;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BUFFER_LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;
    private static final byte[] ZERO_PAGE = new byte[PAGE_SIZE];
    /** Digest of a page of zeros. */
    public static final long ZERO = of(ZERO_PAGE, 0);

    private PageHash() {}

    /** Digest of the page at {@code buf[off .. off+4096)}. */
    public static long of(byte[] buf, int off) {
        long v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1;
        for (int i = off, end = off + PAGE_SIZE; i < end; i += 32) {
            v1 = round(v1, (long) LONGS.get(buf, i));
            v2 = round(v2, (long) LONGS.get(buf, i + 8));
            v3 = round(v3, (long) LONGS.get(buf, i + 16));
            v4 = round(v4, (long) LONGS.get(buf, i + 24));
        }
        return finish(v1, v2, v3, v4);
    }

    /** Digest of the page at {@code buf[off .. off+4096)} (absolute, the buffer's position ignored); equal to {@link #of(byte[], int)} of the same bytes. */
    public static long of(ByteBuffer buf, int off) {
        long v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1;
        for (int i = off, end = off + PAGE_SIZE; i < end; i += 32) {
            v1 = round(v1, (long) BUFFER_LONGS.get(buf, i));
            v2 = round(v2, (long) BUFFER_LONGS.get(buf, i + 8));
            v3 = round(v3, (long) BUFFER_LONGS.get(buf, i + 16));
            v4 = round(v4, (long) BUFFER_LONGS.get(buf, i + 24));
        }
        return finish(v1, v2, v3, v4);
    }

    private static long finish(long v1, long v2, long v3, long v4) {
        long h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        h = merge(h, v4);
        h += PAGE_SIZE;
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    /** Whether the page at {@code buf[off ..)} is all zeros. */
    public static boolean isZero(byte[] buf, int off) {
        return java.util.Arrays.equals(buf, off, off + PAGE_SIZE, ZERO_PAGE, 0, PAGE_SIZE);
    }

    private static long round(long acc, long input) {
        acc += input * P2;
        acc = Long.rotateLeft(acc, 31);
        return acc * P1;
    }

    private static long merge(long h, long v) {
        h ^= round(0, v);
        return h * P1 + P4;
    }
}
