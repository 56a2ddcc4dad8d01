package org.migrationmesh.transfer;

import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * A fast 64-bit content digest of a 4 KiB page: the page's CRC32 (IEEE polynomial) in the high
 * half, in the low half the CRC32C of the page with its two 2 KiB halves swapped.
 *
 * <p>Used to decide whether a page changed and to find repeated pages. Both CRCs are CPU
 * instructions the JIT uses, C1 too (the agents run C1 only): ~0.5 µs a page here, where the
 * xxHash64-style mixing this replaced took ~1.5 µs in C1 and the final image's scan digests every page
 * of the container while it is frozen. As a CRC the digest catches any change of up to 3 bits and
 * any single burst of up to 32 bits, always. It is not collision-proof; exactness comes from
 * the CRC32C of every chunk, computed by the sender over the true bytes in order and checked by the receiver
 * over what it rebuilt, which a wrong match would fail: the three CRCs are GF(2)-linear in the
 * page and their 96 bits have rank 95 over all pages (checked by building the map on every
 * single-bit page), so a wrong page the content did not craft passes all three with odds of about
 * 2^-95 (see {@link ReceiveSession}).
 */
public final class PageHash {
    public static final int PAGE_SIZE = 4096;
    static final int HALF = PAGE_SIZE / 2;
    private static final byte[] ZERO_PAGE = new byte[PAGE_SIZE];
    /** Digest of a page of zeros. */
    public static final long ZERO = of(ZERO_PAGE, 0);

    private PageHash() {}

    /** Digest of the page at {@code buf[off .. off+4096)}. */
    public static long of(byte[] buf, int off) {
        CRC32 whole = new CRC32();
        whole.update(buf, off, PAGE_SIZE);
        CRC32C swapped = new CRC32C();
        swapped.update(buf, off + HALF, HALF);
        swapped.update(buf, off, HALF);
        return whole.getValue() << 32 | swapped.getValue();
    }

    /** Digest of the page at {@code buf[off .. off+4096)} (absolute, the buffer's position ignored); equal to {@link #of(byte[], int)} of the same bytes. */
    public static long of(ByteBuffer buf, int off) {
        CRC32 whole = new CRC32();
        whole.update(buf.slice(off, PAGE_SIZE));
        CRC32C swapped = new CRC32C();
        swapped.update(buf.slice(off + HALF, HALF));
        swapped.update(buf.slice(off, HALF));
        return whole.getValue() << 32 | swapped.getValue();
    }

    /** The digest of a page whose CRC32 is {@code crc32} and whose CRC32C with its halves swapped is {@code swappedCrc32c}. */
    static long of(long crc32, int swappedCrc32c) {
        return crc32 << 32 | (swappedCrc32c & 0xFFFFFFFFL);
    }

    /** Whether the page at {@code buf[off ..)} is all zeros. */
    public static boolean isZero(byte[] buf, int off) {
        return java.util.Arrays.equals(buf, off, off + PAGE_SIZE, ZERO_PAGE, 0, PAGE_SIZE);
    }
}
