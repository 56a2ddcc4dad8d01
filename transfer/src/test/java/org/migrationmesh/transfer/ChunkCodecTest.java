package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.Codec;

import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkCodecTest {
    private static final ChunkCodec.PageSource NOTHING_HELD = new ChunkCodec.PageSource() {
        @Override
        public int held(int index, int count, byte[] dst, int off) {
            return 0;
        }

        @Override
        public void earlier(int index, byte[] dst, int off) {
            throw new AssertionError("no earlier pages");
        }
    };

    @Test
    void compressesOnlyWhereItPays() {
        byte[] text = "abcabcabc ".repeat(1000).getBytes();
        byte[] noise = new byte[10000];
        new Random(1).nextBytes(noise);
        assertThat(ChunkCodec.encode(text, 0, text.length, true).codec()).isEqualTo(Codec.CODEC_ZSTD);
        assertThat(ChunkCodec.encode(noise, 0, noise.length, true).codec()).isEqualTo(Codec.CODEC_NONE);
        assertThat(ChunkCodec.encode(text, 0, text.length, false).codec()).isEqualTo(Codec.CODEC_NONE);
    }

    @Test
    void plainChunkRoundTripsAndCorruptionIsRefused() {
        byte[] text = "abcabcabc ".repeat(1000).getBytes();
        ChunkCodec.Payload p = ChunkCodec.encode(text, 0, text.length, true);
        Chunk c = Chunk.newBuilder().setLength(text.length).setCodec(p.codec()).setPayload(p.bytes())
                .setCrc32C(ChunkCodec.crc32c(text, 0, text.length)).build();
        assertThat(ChunkCodec.decodePlain(c)).isEqualTo(text);
        assertThatThrownBy(() -> ChunkCodec.decodePlain(c.toBuilder().setCrc32C(c.getCrc32C() + 1).build()))
                .hasMessageContaining("CRC32C");
        assertThatThrownBy(() -> ChunkCodec.decodePlain(c.toBuilder().setLength(text.length + 1).build()))
                .isInstanceOf(ChunkCodec.BadChunkException.class);
        ByteString cut = c.getPayload().substring(0, c.getPayload().size() - 3);
        assertThatThrownBy(() -> ChunkCodec.decodePlain(c.toBuilder().setPayload(cut).build()))
                .isInstanceOf(ChunkCodec.BadChunkException.class);
    }

    @Test
    void pagesChunkRebuildsZeroDuplicateAndDataPages() {
        byte[] buf = new byte[6 * 4096];
        new Random(2).nextBytes(buf);
        Arrays.fill(buf, 4096, 8192, (byte) 0);                 // page 1 zero
        System.arraycopy(buf, 0, buf, 3 * 4096, 4096);          // page 3 repeats page 0
        long[] digests = new long[6];
        for (int i = 0; i < 6; i++) digests[i] = PageHash.of(buf, i * 4096);
        BitSet need = new BitSet();
        need.set(0, 6);
        DeltaPlanner.PlannedChunk pc = new DeltaPlanner.PagesFilePlan(need).plan(buf, 6, 0, digests);
        assertThat(pc.ops()).containsExactly(PageOps.DATA, PageOps.ZERO, PageOps.DATA, PageOps.DUP, PageOps.DATA, PageOps.DATA);
        assertThat(pc.dupOf()).containsExactly(0);
        ChunkCodec.Payload p = ChunkCodec.encode(pc.data(), 0, pc.dataPages() * 4096, true);
        Chunk c = Chunk.newBuilder().setLength(buf.length).setCodec(p.codec()).setPayload(p.bytes())
                .setPageOps(ByteString.copyFrom(pc.ops())).addDupOf(0).setCrc32C(ChunkCodec.crc32c(buf, 0, buf.length)).build();
        assertThat(ChunkCodec.decodePages(c, 0, NOTHING_HELD)).isEqualTo(buf);
        Chunk forward = c.toBuilder().setDupOf(0, 4).build();
        assertThatThrownBy(() -> ChunkCodec.decodePages(forward, 0, NOTHING_HELD)).hasMessageContaining("not an earlier one");
    }

    @Test
    void anyMixOfDataZeroHeldAndRepeatedPagesIsRebuiltExactly() {
        Random r = new Random(42);
        for (int trial = 0; trial < 200; trial++) {
            int pages = 1 + r.nextInt(40);
            int chunkPages = 1 + r.nextInt(8);
            byte[] file = new byte[pages * 4096];
            byte[] held = new byte[pages * 4096];        // what the receiver holds at each page's address
            BitSet holds = new BitSet();
            for (int p = 0; p < pages; p++) {
                int off = p * 4096;
                switch (r.nextInt(5)) {
                    case 0 -> { }                                                        // zero page
                    case 1 -> System.arraycopy(file, r.nextInt(p + 1) * 4096, file, off, 4096); // repeats an earlier one
                    case 2 -> Arrays.fill(file, off, off + 4096, (byte) r.nextInt(3)); // few distinct contents
                    default -> {
                        byte[] x = new byte[4096];
                        r.nextBytes(x);
                        System.arraycopy(x, 0, file, off, 4096);
                    }
                }
                if (r.nextBoolean()) {                          // held: same content, or stale
                    System.arraycopy(file, off, held, off, 4096);
                    if (r.nextInt(4) == 0) held[off + r.nextInt(4096)] ^= 1;
                    holds.set(p);
                }
            }
            long[] digests = new long[pages];
            for (int p = 0; p < pages; p++) digests[p] = PageHash.of(file, p * 4096);
            BitSet need = new BitSet();
            for (int p = 0; p < pages; p++) {
                if (!holds.get(p) || PageHash.of(held, p * 4096) != digests[p]) need.set(p);
            }
            DeltaPlanner.PagesFilePlan plan = new DeltaPlanner.PagesFilePlan(need);
            byte[] rebuilt = new byte[file.length];
            ChunkCodec.PageSource source = new ChunkCodec.PageSource() {
                @Override
                public int held(int index, int count, byte[] dst, int off) {
                    if (!holds.get(index)) return 0;
                    int n = 1 + r.nextInt(count);                       // runs of any length
                    System.arraycopy(held, index * 4096, dst, off, n * 4096);
                    return n;
                }

                @Override
                public void earlier(int index, byte[] dst, int off) {
                    System.arraycopy(rebuilt, index * 4096, dst, off, 4096);
                }
            };
            for (int first = 0; first < pages; first += chunkPages) {
                int n = Math.min(chunkPages, pages - first);
                byte[] buf = Arrays.copyOfRange(file, first * 4096, (first + n) * 4096);
                DeltaPlanner.PlannedChunk pc = plan.plan(buf, n, first, digests);
                ChunkCodec.Payload p = ChunkCodec.encodeOwned(pc.data(), pc.dataPages() * 4096, r.nextBoolean());
                Chunk.Builder c = Chunk.newBuilder().setLength(buf.length).setCodec(p.codec()).setPayload(p.bytes())
                        .setPageOps(ByteString.copyFrom(pc.ops())).setCrc32C(ChunkCodec.crc32c(buf, 0, buf.length));
                for (int d : pc.dupOf()) c.addDupOf(d);
                byte[] out = ChunkCodec.decodePages(c.build(), first, source);
                System.arraycopy(out, 0, rebuilt, first * 4096, out.length);
            }
            assertThat(rebuilt).as("trial %d", trial).isEqualTo(file);
        }
    }

    @Test
    void heldPageThatIsNotHeldIsRefused() {
        byte[] buf = new byte[4096];
        Chunk c = Chunk.newBuilder().setLength(4096).setPageOps(ByteString.copyFrom(new byte[] {PageOps.HELD}))
                .setCrc32C(ChunkCodec.crc32c(buf, 0, 4096)).build();
        assertThatThrownBy(() -> ChunkCodec.decodePages(c, 0, NOTHING_HELD)).hasMessageContaining("holds none");
    }
}
