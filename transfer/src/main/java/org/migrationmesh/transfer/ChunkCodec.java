package org.migrationmesh.transfer;

import com.github.luben.zstd.Zstd;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.Codec;

import java.util.zip.CRC32C;

/**
 * Encodes and decodes the bytes of one chunk: optional zstd compression chosen per chunk, page
 * operations for pages files, and the CRC32C that guards the decoded bytes. Pure apart from the
 * {@link PagesTarget} a pages chunk is rebuilt in.
 */
public final class ChunkCodec {
    /** Largest decoded chunk a receiver accepts. */
    public static final int MAX_CHUNK_BYTES = 4 << 20;
    /** Compressed output must be at most this fraction of the input to be worth decoding. */
    private static final double WORTH = 0.9;
    private static final int ZSTD_LEVEL = 1;
    static final int DENSE_ZSTD_LEVEL = 6;
    private static final byte[] ZEROS = new byte[256 * PageHash.PAGE_SIZE];

    private ChunkCodec() {}

    /** Bytes for a payload and the codec they are in. */
    public record Payload(Codec codec, ByteString bytes) {}

    /**
     * Where a receiver rebuilds a pages file: laid out beforehand with the pages it holds, in
     * place; a chunk then writes only the pages that are not there.
     */
    public interface PagesTarget {
        /** Whether page {@code index} of the file was laid out in place from what the receiver holds. */
        boolean heldInPlace(int index);

        /** Whether page {@code index} lies in place as a page of zeros already (a zero page need not be written). */
        boolean zeroInPlace(int index);

        /** Writes {@code count} pages from {@code src[off ..)} at page {@code index}. */
        void write(int index, byte[] src, int off, int count);

        /** Copies page {@code from}, written before, to page {@code to}. */
        void copy(int from, int to);

        /** CRC32C of pages {@code [index, index + count)} as the target now holds them (read back). */
        int crc32c(int index, int count);
    }

    /** Refusal of a chunk's content; the message says what was wrong. */
    public static final class BadChunkException extends RuntimeException {
        public BadChunkException(String message) {
            super(message);
        }

        public BadChunkException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public static int crc32c(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    /** Compresses {@code raw[off..off+len)} if {@code tryCompress} and it pays off; else stores a copy. */
    public static Payload encode(byte[] raw, int off, int len, boolean tryCompress) {
        Payload p = compressed(raw, off, len, tryCompress);
        return p != null ? p : new Payload(Codec.CODEC_NONE, ByteString.copyFrom(raw, off, len));
    }

    /**
     * Like {@link #encode} for {@code raw[0..len)}, but takes ownership of {@code raw}: stored
     * bytes are wrapped, not copied, so the caller must never change the array afterwards.
     */
    public static Payload encodeOwned(byte[] raw, int len, boolean tryCompress) {
        Payload p = compressed(raw, 0, len, tryCompress);
        return p != null ? p : new Payload(Codec.CODEC_NONE, UnsafeByteOperations.unsafeWrap(raw, 0, len));
    }

    /**
     * Like {@link #encode}, for bytes sent while the container still runs (pre-copy's live pages),
     * where fewer bytes are worth more CPU: where zstd's fast level more than halves them, they are
     * compressed again at level {@value #DENSE_ZSTD_LEVEL}; incompressible data costs no more than
     * with {@link #encode}. OpenArena's 20 MiB of memory in 1 MiB messages: 653 KB at level 1,
     * 597 KB at level 6 (zstd 1.5).
     */
    public static Payload encodeDense(byte[] raw, int off, int len, boolean tryCompress) {
        Payload fast = encode(raw, off, len, tryCompress);
        if (fast.codec() != Codec.CODEC_ZSTD || fast.bytes().size() * 2 > len) return fast;
        Payload dense = compressed(raw, off, len, true, DENSE_ZSTD_LEVEL);
        return dense != null && dense.bytes().size() < fast.bytes().size() ? dense : fast;
    }

    private static Payload compressed(byte[] raw, int off, int len, boolean tryCompress) {
        return compressed(raw, off, len, tryCompress, ZSTD_LEVEL);
    }

    private static Payload compressed(byte[] raw, int off, int len, boolean tryCompress, int level) {
        if (!tryCompress || len == 0) return null;
        byte[] dst = new byte[(int) Zstd.compressBound(len)];
        long n = Zstd.compressByteArray(dst, 0, dst.length, raw, off, len, level);
        return n <= len * WORTH ? new Payload(Codec.CODEC_ZSTD, UnsafeByteOperations.unsafeWrap(dst, 0, (int) n)) : null;
    }

    /**
     * The payload's decoded bytes when only a bound is known (e.g. page digests): a compressed
     * payload must declare its size, and no more than {@code most} bytes.
     */
    public static byte[] decodeUpTo(Codec codec, ByteString payload, int most) {
        if (codec == Codec.CODEC_ZSTD) {
            long declared = Zstd.getFrameContentSize(payload.toByteArray());
            if (declared < 0 || declared > most) {
                throw new BadChunkException("compressed payload declares " + declared + " bytes, at most " + most + " expected");
            }
            return decodePayload(codec, payload, (int) declared);
        }
        if (payload.size() > most) throw new BadChunkException("payload " + payload.size() + " bytes, at most " + most + " expected");
        return decodePayload(codec, payload, payload.size());
    }

    /** A pages chunk's ops, {@code pages} of them, as {@link #encodeOps} encoded them. */
    static ByteString pageOps(Chunk c, int pages) {
        ByteString ops = c.getPageOpsCodec() == Codec.CODEC_NONE ? c.getPageOps()
                : UnsafeByteOperations.unsafeWrap(decodePayload(c.getPageOpsCodec(), c.getPageOps(), pages));
        if (ops.size() != pages) throw new BadChunkException(ops.size() + " page ops for " + pages + " pages");
        return ops;
    }

    /** Page ops as they travel: compressed where that pays off (runs of held and zero pages). */
    public static Payload encodeOps(byte[] ops) {
        return encode(ops, 0, ops.length, ops.length >= 64);
    }

    /** The payload's decoded bytes, which must be exactly {@code expected} long. */
    public static byte[] decodePayload(Codec codec, ByteString payload, int expected) {
        switch (codec) {
            case CODEC_NONE -> {
                if (payload.size() != expected) {
                    throw new BadChunkException("payload " + payload.size() + " bytes, expected " + expected);
                }
                return payload.toByteArray();
            }
            case CODEC_ZSTD -> {
                byte[] src = payload.toByteArray();
                long declared = Zstd.getFrameContentSize(src);
                if (declared != expected) {
                    throw new BadChunkException("compressed payload declares " + declared + " bytes, expected " + expected);
                }
                byte[] out = new byte[expected];
                long n;
                try {
                    n = Zstd.decompressByteArray(out, 0, expected, src, 0, src.length);
                } catch (RuntimeException e) {
                    throw new BadChunkException("payload does not decompress: " + e.getMessage(), e);
                }
                if (n != expected) throw new BadChunkException("payload decompressed to " + n + " bytes, expected " + expected);
                return out;
            }
            default -> throw new BadChunkException("unknown codec " + codec);
        }
    }

    /** Decodes a plain-file chunk and checks its CRC32C. */
    public static byte[] decodePlain(Chunk c) {
        byte[] out = decodePayload(c.getCodec(), c.getPayload(), c.getLength());
        checkCrc(c, out);
        return out;
    }

    /**
     * Rebuilds a pages-file chunk whose first page is page {@code firstPage} of the file in
     * {@code target}: writes its data, zero and repeated pages, checks each data page against
     * its planned digest ({@code digests}, every page of the file) and then the CRC32C of the
     * whole range as the target holds it, so pages taken in place from what the receiver held are
     * checked against the sender's bytes too, without the sender reading them.
     */
    public static void decodePages(Chunk c, int firstPage, long[] digests, PagesTarget target) {
        int len = c.getLength();
        if (len % PageHash.PAGE_SIZE != 0) throw new BadChunkException("pages chunk length " + len + " not whole pages");
        int pages = len / PageHash.PAGE_SIZE;
        if ((long) firstPage + pages > digests.length) throw new BadChunkException("pages chunk beyond the planned pages");
        ByteString ops = pageOps(c, pages);
        int dataPages = 0, dups = 0;
        for (int i = 0; i < pages; i++) {
            int op = ops.byteAt(i);
            if (op == PageOps.DATA) dataPages++;
            else if (op == PageOps.DUP) dups++;
            else if (op == PageOps.HELD && !target.heldInPlace(firstPage + i)) {
                throw new BadChunkException("page " + (firstPage + i) + " marked held, but the receiver holds none");
            } else if (op != PageOps.ZERO && op != PageOps.HELD) throw new BadChunkException("unknown page op " + op);
        }
        if (dups != c.getDupOfCount()) throw new BadChunkException(c.getDupOfCount() + " dup references for " + dups + " dup pages");
        byte[] data = decodePayload(c.getCodec(), c.getPayload(), dataPages * PageHash.PAGE_SIZE);
        for (int i = 0, d = 0; i < pages; i++) {
            if (ops.byteAt(i) != PageOps.DATA) continue;
            if (PageHash.of(data, d) != digests[firstPage + i]) {
                throw new BadChunkException("data page " + (firstPage + i) + " differs from its planned digest");
            }
            d += PageHash.PAGE_SIZE;
        }
        int d = 0, k = 0;
        for (int i = 0; i < pages; ) {
            byte op = ops.byteAt(i);
            int run = 1;
            while (i + run < pages && ops.byteAt(i + run) == op && op != PageOps.DUP) run++;
            if (op == PageOps.DATA) {
                target.write(firstPage + i, data, d, run);
                d += run * PageHash.PAGE_SIZE;
            } else if (op == PageOps.ZERO) {
                for (int z = 0; z < run; ) {
                    if (target.zeroInPlace(firstPage + i + z)) {
                        z++;
                        continue;
                    }
                    int n = 1;
                    while (z + n < run && n < ZEROS.length / PageHash.PAGE_SIZE && !target.zeroInPlace(firstPage + i + z + n)) n++;
                    target.write(firstPage + i + z, ZEROS, 0, n);
                    z += n;
                }
            } else if (op == PageOps.DUP) {
                int ref = c.getDupOf(k++);
                if (ref < 0 || ref >= firstPage + i) {
                    throw new BadChunkException("page " + (firstPage + i) + " duplicates page " + ref + ", not an earlier one");
                }
                target.copy(ref, firstPage + i);
            } // PageOps.HELD: in place already
            i += run;
        }
        int crc = dataPages == pages ? crc32c(data, 0, len) : target.crc32c(firstPage, pages);
        if (crc != c.getCrc32C()) {
            throw new BadChunkException(String.format("CRC32C %08x, chunk says %08x", crc, c.getCrc32C()));
        }
    }

    private static void checkCrc(Chunk c, byte[] out) {
        int crc = crc32c(out, 0, out.length);
        if (crc != c.getCrc32C()) {
            throw new BadChunkException(String.format("CRC32C %08x, chunk says %08x", crc, c.getCrc32C()));
        }
    }
}
