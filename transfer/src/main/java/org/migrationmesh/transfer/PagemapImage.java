package org.migrationmesh.transfer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed CRIU {@code pagemap-<space>.img}: which virtual pages of one address space are stored,
 * in order, in {@code pages-<pagesId>.img}.
 *
 * <p>Format (CRIU images/pagemap.proto, criu/include/magic.h): the 4-byte IMG_COMMON_MAGIC, the
 * 4-byte PAGEMAP_MAGIC, then entries of [uint32 LE length][protobuf message]: first a
 * {@code pagemap_head {pages_id = 1}}, then {@code pagemap_entry {vaddr = 1, compat_nr_pages = 2,
 * in_parent = 3, flags = 4, nr_pages = 5}} (CRIU 4 writes 0 in the uint32 compat_nr_pages and the
 * count in the uint64 nr_pages; older CRIU only field 2). Pages of entries with PE_PRESENT (or, in images without flags, not
 * in_parent) are in the pages file, in entry order. Pure; no I/O.
 */
public record PagemapImage(long pagesId, List<Entry> entries) {
    public static final int IMG_COMMON_MAGIC = 0x54564319;
    public static final int PAGEMAP_MAGIC = 0x56084025;
    public static final int PE_PARENT = 1;
    public static final int PE_LAZY = 1 << 1;
    public static final int PE_PRESENT = 1 << 2;
    private static final Pattern NAME = Pattern.compile("pagemap-(.+)\\.img");

    /** One run of pages: {@code flags} is -1 when the entry carries none (old images). */
    public record Entry(long vaddr, long nrPages, boolean inParent, int flags) {
        boolean inPagesFile(boolean lazyIncluded) {
            if (flags < 0) return !inParent;
            if ((flags & PE_PRESENT) == 0) return false;
            return lazyIncluded || (flags & PE_LAZY) == 0;
        }
    }

    /** The address space named by a pagemap file name ({@code pagemap-1234.img} -> 1234). */
    public static Optional<String> spaceOf(String fileName) {
        Matcher m = NAME.matcher(fileName);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The pages file this pagemap describes. */
    public String pagesFileName() {
        return "pages-" + pagesId + ".img";
    }

    /**
     * The virtual address of every page of the pages file, in file order, if this pagemap
     * accounts for exactly {@code pagesFileLength} bytes; empty if it does not (the file is then
     * treated as opaque bytes, never guessed at).
     */
    public Optional<long[]> pageAddresses(long pagesFileLength) {
        if (pagesFileLength % PageHash.PAGE_SIZE != 0) return Optional.empty();
        long pages = pagesFileLength / PageHash.PAGE_SIZE;
        for (boolean lazy : new boolean[] {false, true}) {
            long count = 0;
            for (Entry e : entries) if (e.inPagesFile(lazy)) count += e.nrPages();
            if (count != pages) continue;
            if (count > Integer.MAX_VALUE) return Optional.empty();
            long[] out = new long[(int) count];
            int i = 0;
            for (Entry e : entries) {
                if (!e.inPagesFile(lazy)) continue;
                for (long p = 0; p < e.nrPages(); p++) out[i++] = e.vaddr() + p * PageHash.PAGE_SIZE;
            }
            return Optional.of(out);
        }
        return Optional.empty();
    }

    /**
     * This pagemap with the pages {@code eager} picks out of its lazy entries (PE_PRESENT and
     * PE_LAZY) no longer flagged lazy, entries split where that changes; the pages file's order and
     * every other entry stay as they are. A lazy restore has CRIU copy such pages in before the tasks
     * resume and leaves only the flagged ones to the lazy-pages daemon. Pure.
     */
    public PagemapImage withEager(java.util.function.LongPredicate eager) {
        List<Entry> out = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            int lazy = PE_PRESENT | PE_LAZY;
            if (e.flags() < 0 || (e.flags() & lazy) != lazy) {
                out.add(e);
                continue;
            }
            long runStart = 0;
            boolean runEager = eager.test(e.vaddr());
            for (long p = 1; p <= e.nrPages(); p++) {
                boolean pageEager = p < e.nrPages() && eager.test(e.vaddr() + p * PageHash.PAGE_SIZE);
                if (p == e.nrPages() || pageEager != runEager) {
                    out.add(new Entry(e.vaddr() + runStart * PageHash.PAGE_SIZE, p - runStart, e.inParent(),
                            runEager ? e.flags() & ~PE_LAZY : e.flags()));
                    runStart = p;
                    runEager = pageEager;
                }
            }
        }
        return new PagemapImage(pagesId, List.copyOf(out));
    }

    /** The image bytes of this pagemap as CRIU 4 writes them (the count in nr_pages, 0 in compat_nr_pages). */
    public byte[] encode() {
        ByteArrayOutputStream out = headed(pagesId);
        for (Entry e : entries) {
            ByteArrayOutputStream m = new ByteArrayOutputStream();
            boolean old = e.flags() < 0; // an image without flags keeps the count where it had it
            field(m, 1, e.vaddr());
            field(m, 2, old ? e.nrPages() : 0);
            if (e.inParent()) field(m, 3, 1);
            if (!old) {
                field(m, 4, e.flags());
                field(m, 5, e.nrPages());
            }
            entry(out, m.toByteArray());
        }
        return out.toByteArray();
    }

    /** Parses a pagemap image; throws {@link IllegalArgumentException} naming the defect. */
    public static PagemapImage parse(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 8) throw new IllegalArgumentException("pagemap image too short: " + image.length + " bytes");
        int magic = b.getInt();
        if (magic != IMG_COMMON_MAGIC) {
            throw new IllegalArgumentException("pagemap image: common magic 0x" + Integer.toHexString(magic));
        }
        int kind = b.getInt();
        if (kind != PAGEMAP_MAGIC) throw new IllegalArgumentException("not a pagemap image: magic 0x" + Integer.toHexString(kind));
        long pagesId = -1;
        List<Entry> entries = new ArrayList<>();
        boolean head = true;
        while (b.hasRemaining()) {
            if (b.remaining() < 4) throw new IllegalArgumentException("pagemap image: truncated entry length");
            int len = b.getInt();
            if (len < 0 || len > b.remaining()) throw new IllegalArgumentException("pagemap image: entry length " + len);
            ByteBuffer msg = b.slice(b.position(), len).order(ByteOrder.LITTLE_ENDIAN);
            b.position(b.position() + len);
            if (head) {
                pagesId = parseHead(msg);
                head = false;
            } else {
                entries.add(parseEntry(msg));
            }
        }
        if (head) throw new IllegalArgumentException("pagemap image: no head");
        return new PagemapImage(pagesId, List.copyOf(entries));
    }

    private static long parseHead(ByteBuffer m) {
        long pagesId = -1;
        while (m.hasRemaining()) {
            long tag = varint(m);
            if (tag == (1 << 3)) pagesId = varint(m);
            else skip(m, (int) (tag & 7));
        }
        if (pagesId < 0) throw new IllegalArgumentException("pagemap head without pages_id");
        return pagesId;
    }

    private static Entry parseEntry(ByteBuffer m) {
        long vaddr = -1, nr = -1, nr64 = -1;
        boolean inParent = false;
        int flags = -1;
        while (m.hasRemaining()) {
            long tag = varint(m);
            switch ((int) tag) {
                case (1 << 3) -> vaddr = varint(m);
                case (2 << 3) -> nr = varint(m);
                case (3 << 3) -> inParent = varint(m) != 0;
                case (4 << 3) -> flags = (int) varint(m);
                case (5 << 3) -> nr64 = varint(m);
                default -> skip(m, (int) (tag & 7));
            }
        }
        if (nr64 >= 0) nr = nr64;
        if (vaddr < 0 || nr < 0) throw new IllegalArgumentException("pagemap entry without vaddr or nr_pages");
        if ((vaddr & (PageHash.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("pagemap entry vaddr 0x" + Long.toHexString(vaddr) + " not page aligned");
        }
        return new Entry(vaddr, nr, inParent, flags);
    }

    private static long varint(ByteBuffer m) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!m.hasRemaining()) throw new IllegalArgumentException("pagemap image: truncated varint");
            byte x = m.get();
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) return v;
        }
        throw new IllegalArgumentException("pagemap image: varint too long");
    }

    private static void skip(ByteBuffer m, int wireType) {
        switch (wireType) {
            case 0 -> varint(m);
            case 1 -> m.position(m.position() + 8);
            case 2 -> m.position(m.position() + (int) varint(m));
            case 5 -> m.position(m.position() + 4);
            default -> throw new IllegalArgumentException("pagemap image: wire type " + wireType);
        }
    }

    /** A pagemap image: magics, head {pages_id}, entries {vaddr, compat_nr_pages[, flags[, nr_pages]]}. */
    public static byte[] encode(long pagesId, long[][] entries) {
        ByteArrayOutputStream out = headed(pagesId);
        for (long[] e : entries) {
            ByteArrayOutputStream m = new ByteArrayOutputStream();
            field(m, 1, e[0]);
            field(m, 2, e[1]);
            if (e.length > 2) field(m, 4, e[2]);
            if (e.length > 3) field(m, 5, e[3]);
            entry(out, m.toByteArray());
        }
        return out.toByteArray();
    }

    /** A pagemap image's magics and head {pages_id}, for its entries to follow. */
    private static ByteArrayOutputStream headed(long pagesId) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeInt(out, IMG_COMMON_MAGIC);
        writeInt(out, PAGEMAP_MAGIC);
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        field(head, 1, pagesId);
        entry(out, head.toByteArray());
        return out;
    }

    private static void entry(ByteArrayOutputStream out, byte[] msg) {
        writeInt(out, msg.length);
        out.writeBytes(msg);
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    private static void field(ByteArrayOutputStream out, int number, long value) {
        writeVarint(out, (long) number << 3);
        writeVarint(out, value);
    }

    private static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
