package org.migrationmesh.transfer;

import java.util.zip.CRC32C;

/**
 * CRC32C of page runs from the CRC32C of each 4 KiB page, without the bytes: the CRC of a
 * concatenation {@code A || B} is {@code crc(A) * x^(8|B|) mod P  xor  crc(B)} (as zlib's
 * {@code crc32_combine}, here with the Castagnoli polynomial). The sender digests every page in
 * its scan anyway; this lets it state the CRC32C of a chunk whose pages it does not read again.
 * Pure.
 */
final class PageCrcs {
    /** Castagnoli polynomial, reflected. */
    private static final int POLY = 0x82F63B78;
    /**
     * {@code c * x^(8 * 4096) mod P} (one page appended to a running CRC {@code c}) for each byte
     * of {@code c} in each of its four places: the product is linear in {@code c}, so four lookups
     * make it, where {@link #multModP} loops over 32 bits (~1 ms per 5000 pages in C1, in the
     * downtime's planning of the final image).
     */
    private static final int[][] PAGE_SHIFT = shiftTables(PageHash.PAGE_SIZE);
    /** The same for half a page: the CRC32C of a page and of its halves swapped from those of its halves. */
    private static final int[][] HALF_SHIFT = shiftTables(PageHash.PAGE_SIZE / 2);

    private PageCrcs() {}

    /** CRC32C of the page at {@code buf[off .. off+4096)}. */
    static int of(byte[] buf, int off) {
        CRC32C c = new CRC32C();
        c.update(buf, off, PageHash.PAGE_SIZE);
        return (int) c.getValue();
    }

    /** CRC32C of the page at {@code buf[off .. off+4096)} (absolute, the buffer's position and limit ignored). */
    static int of(java.nio.ByteBuffer buf, int off) {
        CRC32C c = new CRC32C();
        c.update(buf.slice(off, PageHash.PAGE_SIZE));
        return (int) c.getValue();
    }

    /** CRC32C of pages {@code [from, from + count)} laid one after the other, from their own CRCs. */
    static int ofRun(int[] pageCrcs, int from, int count) {
        if (count <= 0) throw new IllegalArgumentException("run of " + count + " pages");
        int crc = pageCrcs[from];
        for (int i = from + 1; i < from + count; i++) crc = shiftPage(crc) ^ pageCrcs[i];
        return crc;
    }

    /** CRC32C of {@code A || B} from {@code crc(A)}, {@code crc(B)} and B's length in bytes. */
    static int combine(int crcA, int crcB, long bytesB) {
        return multModP(xPow8n(bytesB), crcA) ^ crcB;
    }

    /**
     * CRC32C of {@code A || B} for two half pages from {@code crc(A)} and {@code crc(B)}: four
     * lookups. With the halves' CRCs read in one pass, both the page's CRC32C and the one of its
     * halves swapped ({@link PageHash}) come without a second pass over its bytes.
     */
    static int ofHalves(int crcA, int crcB) {
        return shift(HALF_SHIFT, crcA) ^ crcB;
    }

    private static int shiftPage(int crc) {
        return shift(PAGE_SHIFT, crc);
    }

    private static int shift(int[][] t, int crc) {
        return t[0][crc & 0xFF] ^ t[1][(crc >>> 8) & 0xFF] ^ t[2][(crc >>> 16) & 0xFF] ^ t[3][crc >>> 24];
    }

    private static int[][] shiftTables(int bytes) {
        int shift = xPow8n(bytes);
        int[][] t = new int[4][256];
        for (int k = 0; k < 4; k++) {
            for (int b = 0; b < 256; b++) t[k][b] = multModP(shift, b << (8 * k));
        }
        return t;
    }

    /** a * b mod P, both reflected. */
    private static int multModP(int a, int b) {
        int m = 1 << 31, p = 0;
        while (true) {
            if ((a & m) != 0) {
                p ^= b;
                if ((a & (m - 1)) == 0) break;
            }
            m >>>= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
        return p;
    }

    /** x^(8n) mod P. */
    private static int xPow8n(long n) {
        int p = 1 << 31; // x^0
        int x2k = 1 << 30; // x^(2^0)
        for (long e = n * 8; e != 0; e >>>= 1) {
            if ((e & 1) != 0) p = multModP(x2k, p);
            x2k = multModP(x2k, x2k);
        }
        return p;
    }
}
