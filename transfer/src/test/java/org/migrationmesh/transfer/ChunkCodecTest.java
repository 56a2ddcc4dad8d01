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
    /** A pages file in memory, as a receiver's staging file: held pages laid out in place beforehand. */
    static final class InMemoryPages implements ChunkCodec.PagesTarget {
        final byte[] file;
        final BitSet inPlace;

        InMemoryPages(byte[] file, BitSet inPlace) {
            this.file = file;
            this.inPlace = inPlace;
        }

        @Override
        public boolean heldInPlace(int index) {
            return inPlace.get(index);
        }

        @Override
        public boolean zeroInPlace(int index) {
            return inPlace.get(index) && PageHash.isZero(file, index * 4096);
        }

        @Override
        public void write(int index, byte[] src, int off, int count) {
            System.arraycopy(src, off, file, index * 4096, count * 4096);
        }

        @Override
        public void copy(int from, int to) {
            System.arraycopy(file, from * 4096, file, to * 4096, 4096);
        }

        @Override
        public int crc32c(int index, int count) {
            return ChunkCodec.crc32c(file, index * 4096, count * 4096);
        }
    }

    /** The chunk of pages {@code [first, first + n)} of {@code file} as the sender builds it: only data pages read. */
    static Chunk pagesChunk(byte[] file, int first, int n, DeltaPlanner.PagesFilePlan plan, long[] digests, int[] crcs,
                            boolean compress) {
        DeltaPlanner.PlannedChunk pc = plan.plan(n, first, digests);
        byte[] data = new byte[pc.dataPages().length * 4096];
        for (int k = 0; k < pc.dataPages().length; k++) System.arraycopy(file, pc.dataPages()[k] * 4096, data, k * 4096, 4096);
        ChunkCodec.Payload p = ChunkCodec.encodeOwned(data, data.length, compress);
        Chunk.Builder c = Chunk.newBuilder().setOffset(first * 4096L).setLength(n * 4096).setCodec(p.codec()).setPayload(p.bytes())
                .setPageOps(ByteString.copyFrom(pc.ops())).setCrc32C(PageCrcs.ofRun(crcs, first, n));
        for (int d : pc.dupOf()) c.addDupOf(d);
        return c.build();
    }

    static int[] pageCrcs(byte[] file) {
        int[] crcs = new int[file.length / 4096];
        for (int p = 0; p < crcs.length; p++) crcs[p] = PageCrcs.of(file, p * 4096);
        return crcs;
    }

    static long[] pageDigests(byte[] file) {
        long[] digests = new long[file.length / 4096];
        for (int p = 0; p < digests.length; p++) digests[p] = PageHash.of(file, p * 4096);
        return digests;
    }

    @Test
    void theCrcOfARunOfPagesFollowsFromThePagesCrcs() {
        Random r = new Random(5);
        byte[] file = new byte[64 * 4096];
        r.nextBytes(file);
        Arrays.fill(file, 3 * 4096, 9 * 4096, (byte) 0);
        int[] crcs = pageCrcs(file);
        for (int trial = 0; trial < 100; trial++) {
            int from = r.nextInt(64), n = 1 + r.nextInt(64 - from);
            assertThat(PageCrcs.ofRun(crcs, from, n)).isEqualTo(ChunkCodec.crc32c(file, from * 4096, n * 4096));
        }
    }

    @Test
    void digestsDecodeWithinTheirBoundOnly() {
        byte[] zeros = new byte[8 * 1000];
        ChunkCodec.Payload p = ChunkCodec.encode(zeros, 0, zeros.length, true);
        assertThat(p.codec()).isEqualTo(Codec.CODEC_ZSTD);
        assertThat(ChunkCodec.decodeUpTo(p.codec(), p.bytes(), 8000)).isEqualTo(zeros);
        // A small payload that inflates beyond what the file can have is refused before it is inflated.
        assertThatThrownBy(() -> ChunkCodec.decodeUpTo(p.codec(), p.bytes(), 7999))
                .isInstanceOf(ChunkCodec.BadChunkException.class).hasMessageContaining("at most 7999");
        assertThatThrownBy(() -> ChunkCodec.decodeUpTo(Codec.CODEC_NONE, ByteString.copyFrom(zeros), 8))
                .isInstanceOf(ChunkCodec.BadChunkException.class);
    }

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
    void denseEncodingSpendsMoreCpuOnlyWhereItPaysWell() {
        // Memory-like: short records drawn from a vocabulary (some far more often), with some noise between.
        Random r = new Random(3);
        byte[][] words = new byte[300][];
        for (int i = 0; i < words.length; i++) {
            words[i] = new byte[3 + r.nextInt(38)];
            r.nextBytes(words[i]);
        }
        byte[] memory = new byte[256 * 4096];
        for (int at = 0; at < memory.length; ) {
            byte[] w = words[(int) Math.pow(1 - r.nextDouble(), -1 / 1.2) % words.length];
            int n = Math.min(w.length, memory.length - at);
            System.arraycopy(w, 0, memory, at, n);
            at += n;
            if (at < memory.length && r.nextDouble() < 0.3) memory[at++] = (byte) r.nextInt(256);
        }
        ChunkCodec.Payload fast = ChunkCodec.encode(memory, 0, memory.length, true);
        ChunkCodec.Payload dense = ChunkCodec.encodeDense(memory, 0, memory.length, true);
        assertThat(dense.codec()).isEqualTo(Codec.CODEC_ZSTD);
        assertThat(dense.bytes().size()).isLessThan(fast.bytes().size());
        assertThat(ChunkCodec.decodeUpTo(dense.codec(), dense.bytes(), memory.length)).isEqualTo(memory);

        byte[] noise = new byte[10000];
        r.nextBytes(noise);
        assertThat(ChunkCodec.encodeDense(noise, 0, noise.length, true).codec()).isEqualTo(Codec.CODEC_NONE);
        assertThat(ChunkCodec.encodeDense(memory, 0, memory.length, false).codec()).isEqualTo(Codec.CODEC_NONE);
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
        long[] digests = pageDigests(buf);
        BitSet need = new BitSet();
        need.set(0, 6);
        Chunk c = pagesChunk(buf, 0, 6, new DeltaPlanner.PagesFilePlan(need), digests, pageCrcs(buf), true);
        assertThat(c.getPageOps().toByteArray()).containsExactly(PageOps.DATA, PageOps.ZERO, PageOps.DATA, PageOps.DUP, PageOps.DATA, PageOps.DATA);
        assertThat(c.getDupOfList()).containsExactly(0);
        InMemoryPages rebuilt = new InMemoryPages(new byte[buf.length], new BitSet());
        ChunkCodec.decodePages(c, 0, digests, rebuilt);
        assertThat(rebuilt.file).isEqualTo(buf);
        Chunk forward = c.toBuilder().setDupOf(0, 4).build();
        assertThatThrownBy(() -> ChunkCodec.decodePages(forward, 0, digests, new InMemoryPages(new byte[buf.length], new BitSet())))
                .hasMessageContaining("not an earlier one");
    }

    @Test
    void anyMixOfDataZeroHeldAndRepeatedPagesIsRebuiltExactly() {
        Random r = new Random(42);
        for (int trial = 0; trial < 200; trial++) {
            int pages = 1 + r.nextInt(40);
            int chunkPages = 1 + r.nextInt(8);
            byte[] file = new byte[pages * 4096];
            byte[] staging = new byte[pages * 4096];     // what the receiver laid out: held pages, stale ones, garbage
            BitSet need = new BitSet();
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
                switch (r.nextInt(3)) {
                    case 0 -> System.arraycopy(file, off, staging, off, 4096);   // held, in place
                    case 1 -> {                                                  // stale: held with other content
                        System.arraycopy(file, off, staging, off, 4096);
                        staging[off + r.nextInt(4096)] ^= 1;
                        need.set(p);
                    }
                    default -> {                                                 // not held: whatever lies there
                        staging[off + r.nextInt(4096)] = (byte) r.nextInt();
                        need.set(p);
                    }
                }
            }
            long[] digests = pageDigests(file);
            int[] crcs = pageCrcs(file);
            BitSet inPlace = new BitSet();
            inPlace.set(0, pages);
            inPlace.andNot(need);
            DeltaPlanner.PagesFilePlan plan = new DeltaPlanner.PagesFilePlan(need);
            InMemoryPages target = new InMemoryPages(staging, inPlace);
            for (int first = 0; first < pages; first += chunkPages) {
                int n = Math.min(chunkPages, pages - first);
                ChunkCodec.decodePages(pagesChunk(file, first, n, plan, digests, crcs, r.nextBoolean()), first, digests, target);
            }
            assertThat(staging).as("trial %d", trial).isEqualTo(file);
        }
    }

    @Test
    void heldPageThatIsNotHeldIsRefused() {
        byte[] buf = new byte[4096];
        Chunk c = Chunk.newBuilder().setLength(4096).setPageOps(ByteString.copyFrom(new byte[] {PageOps.HELD}))
                .setCrc32C(ChunkCodec.crc32c(buf, 0, 4096)).build();
        assertThatThrownBy(() -> ChunkCodec.decodePages(c, 0, new long[1], new InMemoryPages(buf, new BitSet())))
                .hasMessageContaining("holds none");
    }

    @Test
    void aHeldPageWhoseBytesDifferFromTheSendersIsRefusedByTheChunkCrc() {
        byte[] file = new byte[4 * 4096];
        new Random(8).nextBytes(file);
        long[] digests = pageDigests(file);
        byte[] staging = file.clone();
        staging[2 * 4096 + 17] ^= 4; // held page 2 went bad after its digest was recorded (or its digest collided)
        BitSet inPlace = new BitSet();
        inPlace.set(0, 4);
        Chunk c = pagesChunk(file, 0, 4, new DeltaPlanner.PagesFilePlan(new BitSet()), digests, pageCrcs(file), false);
        assertThat(c.getPayload().size()).isZero();
        assertThatThrownBy(() -> ChunkCodec.decodePages(c, 0, digests, new InMemoryPages(staging, inPlace)))
                .hasMessageContaining("CRC32C");
    }

    @Test
    void aDataPageOtherThanPlannedIsRefused() {
        byte[] file = new byte[2 * 4096];
        new Random(9).nextBytes(file);
        long[] digests = pageDigests(file);
        BitSet need = new BitSet();
        need.set(0, 2);
        Chunk c = pagesChunk(file, 0, 2, new DeltaPlanner.PagesFilePlan(need), digests, pageCrcs(file), false);
        long[] planned = digests.clone();
        planned[1] ^= 1;
        assertThatThrownBy(() -> ChunkCodec.decodePages(c, 0, planned, new InMemoryPages(new byte[file.length], new BitSet())))
                .hasMessageContaining("planned digest");
    }

    @Test
    void pageOpsOfAFinalImageTravelCompressedAndDecodeToTheSamePages() {
        // 1,000 pages: 900 held in place, 90 zero, 10 changed; the receiver holds the held ones.
        int n = 1000;
        byte[] file = new byte[n * 4096];
        Random random = new Random(9);
        for (int p = 0; p < n; p++) if (p < 900 || p >= 990) for (int b = 0; b < 4096; b += 512) file[p * 4096 + b] = (byte) random.nextInt();
        long[] digests = pageDigests(file);
        BitSet need = new BitSet();
        need.set(900, n);
        BitSet held = new BitSet();
        held.set(0, 900);
        DeltaPlanner.PlannedChunk pc = new DeltaPlanner.PagesFilePlan(need).plan(n, 0, digests);
        ChunkCodec.Payload ops = ChunkCodec.encodeOps(pc.ops());
        assertThat(ops.codec()).isEqualTo(Codec.CODEC_ZSTD);
        assertThat(ops.bytes().size()).as("runs of held and zero pages").isLessThan(n / 10);
        Chunk plain = pagesChunk(file, 0, n, new DeltaPlanner.PagesFilePlan(need), digests, pageCrcs(file), true);
        Chunk c = plain.toBuilder().setPageOps(ops.bytes()).setPageOpsCodec(ops.codec()).build();
        byte[] start = file.clone();
        java.util.Arrays.fill(start, 900 * 4096, start.length, (byte) 7); // what the receiver has there: stale
        InMemoryPages rebuilt = new InMemoryPages(start, held);
        ChunkCodec.decodePages(c, 0, digests, rebuilt);
        assertThat(rebuilt.file).isEqualTo(file);
        Chunk cut = c.toBuilder().setPageOps(ops.bytes().substring(0, ops.bytes().size() - 2)).build();
        assertThatThrownBy(() -> ChunkCodec.decodePages(cut, 0, digests, new InMemoryPages(start.clone(), held)))
                .isInstanceOf(ChunkCodec.BadChunkException.class);
    }
}
