package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.PageDigests;
import org.migrationmesh.proto.transfer.PagesNeeded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The sender's side of planning the pages files of a round against what the receiver holds. The
 * receiver needs the pagemaps to plan, and the sender's page digests; when they are small (as in
 * the final round of a pre-copied migration: a few KiB of pagemaps, 8 bytes per page) they ride
 * along with Begin, whose answer then carries the plans, so the pages can follow the plain files
 * in the same upload. What does not fit ({@link #BEGIN_BUDGET}) is asked with PlanPages once the
 * pagemaps are at the receiver. Prepared once per send (the slices are encoded once), used by
 * every attempt.
 */
final class PagePlanning {
    /** Bytes of pagemap chunks and page digests that may ride along with a Begin (well under the message limit). */
    static final int BEGIN_BUDGET = 4 << 20;
    private final ImageScan scan;
    /** The pagemaps as chunks, or null when they are too large to ride along with Begin. */
    private final List<Chunk> pagemapChunks;
    /** The page digest slices of every pages file its pagemap lays out, by file index, in order. */
    private final Map<Integer, List<PageDigests>> slices = new TreeMap<>();
    /** How many of a file's slices ride along with Begin. */
    private final Map<Integer, Integer> inBegin = new HashMap<>();
    /** Whether some slice leaves out digests of pages the receiver holds. */
    private boolean leavesOutHeld;

    private PagePlanning(ImageScan scan, List<Chunk> pagemapChunks) {
        this.scan = scan;
        this.pagemapChunks = pagemapChunks;
    }

    /**
     * Encodes the slices of {@code scan}'s page digests ({@code digestsPerMessage} per slice) and
     * decides what rides with Begin: the pagemaps if they take at most half of {@code budget}
     * bytes, and then as many slices of each file, in order, as the rest of the budget holds.
     * With {@code receiverHolds} (null: not known), the digests of pages the receiver holds with
     * that digest at that address are left out ({@link HeldDigests}).
     */
    static PagePlanning of(ImageScan scan, String migrationId, int round, TransferOptions options, int digestsPerMessage,
                           int budget, DeltaPlanner.Holdings receiverHolds) {
        List<ImageManifest.File> files = scan.manifest().files();
        long pagemapBytes = 0;
        for (ImageManifest.File f : files) if (PagemapImage.spaceOf(f.name()).isPresent()) pagemapBytes += f.length();
        PagePlanning p = new PagePlanning(scan, pagemapBytes <= budget / 2 ? new ArrayList<>() : null);
        long left = budget;
        for (int i = 0; i < files.size(); i++) {
            ImageManifest.File f = files.get(i);
            if (p.pagemapChunks != null && PagemapImage.spaceOf(f.name()).isPresent()) {
                left -= p.addChunks(migrationId, round, i, f, options);
            }
        }
        for (int i = 0; i < files.size(); i++) {
            ImageManifest.File f = files.get(i);
            long[] digests = scan.pageDigests().get(f.name());
            Optional<ImageScan.PagemapLayout> layout = scan.layoutOf(f.name());
            if (digests == null || layout.isEmpty()) continue;
            java.util.function.IntPredicate held = receiverHolds == null ? page -> false
                    : page -> receiverHolds.holds(new PageKey(layout.get().space(), layout.get().vaddrs()[page]), digests[page]);
            List<PageDigests> fileSlices = new ArrayList<>();
            for (int first = 0; first < digests.length || first == 0; first += digestsPerMessage) {
                int n = Math.min(digestsPerMessage, digests.length - first);
                HeldDigests.Slice slice = HeldDigests.leaveOut(digests, first, n, held);
                p.leavesOutHeld |= slice.leftOut() > 0;
                long[] carried = slice.carried();
                ByteBuffer bytes = ByteBuffer.allocate(carried.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                bytes.asLongBuffer().put(carried);
                ChunkCodec.Payload encoded = ChunkCodec.encodeOwned(bytes.array(), carried.length * 8, options.compress());
                PageDigests.Builder b = PageDigests.newBuilder().setMigrationId(migrationId).setRound(round).setFileIndex(i)
                        .setFirstPage(first).setTotalPages(digests.length).setCodec(encoded.codec())
                        .setDigests(encoded.bytes());
                if (slice.leftOut() > 0) {
                    for (int r : slice.runs()) b.addHeldRuns(r);
                    b.setHeldCheck(slice.check());
                }
                fileSlices.add(b.build());
                if (n == 0) break;
            }
            p.slices.put(i, fileSlices);
            int riding = 0;
            while (p.pagemapChunks != null && riding < fileSlices.size() && fileSlices.get(riding).getSerializedSize() <= left) {
                left -= fileSlices.get(riding++).getSerializedSize();
            }
            p.inBegin.put(i, riding);
        }
        return p;
    }

    private long addChunks(String migrationId, int round, int index, ImageManifest.File f, TransferOptions options) {
        byte[] all;
        try {
            all = Files.readAllBytes(scan.dir().resolve(f.name())); // small: within the budget
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f.name(), e);
        }
        if (all.length != f.length()) throw new IllegalStateException(f.name() + " changed since it was scanned");
        long size = 0;
        for (int off = 0; off < all.length; off += options.chunkBytes()) {
            int n = Math.min(options.chunkBytes(), all.length - off);
            byte[] part = Arrays.copyOfRange(all, off, off + n);
            ChunkCodec.Payload p = ChunkCodec.encodeOwned(part, n, options.compress());
            Chunk c = Chunk.newBuilder().setMigrationId(migrationId).setRound(round).setFileIndex(index).setOffset(off)
                    .setLength(n).setCrc32C(ChunkCodec.crc32c(part, 0, n)).setCodec(p.codec()).setPayload(p.bytes()).build();
            pagemapChunks.add(c);
            size += c.getSerializedSize();
        }
        return size;
    }

    /** Whether some slice leaves out the digests of pages the receiver was counted on to hold. */
    boolean leavesOutHeld() {
        return leavesOutHeld;
    }

    /** Whether the pagemaps ride along with Begin (else they must be uploaded before anything is planned). */
    boolean pagemapsInBegin() {
        return pagemapChunks != null;
    }

    /** Adds the pagemaps and the page digest slices that ride along. */
    BeginRequest.Builder addTo(BeginRequest.Builder begin) {
        if (pagemapChunks == null) return begin;
        begin.addAllChunks(pagemapChunks);
        slices.forEach((i, s) -> begin.addAllPageDigests(s.subList(0, inBegin.get(i))));
        return begin;
    }

    /** Whether a pages file still missing at the receiver (by {@code states}) is to be planned. */
    boolean anyToPlan(BeginResponse states) {
        for (int i : slices.keySet()) if (!states.getFiles(i).getComplete()) return true;
        return false;
    }

    /**
     * The plan of every pages file still missing at the receiver that its pagemap lays out (none:
     * the file travels as plain bytes): from the plans the Begin answered ({@code states}, to
     * {@code sent}, the Begin as sent) and, for the slices that did not ride along, from
     * {@code ask} (PlanPages; only once the pagemaps are at the receiver). With deltas off, every
     * page is needed.
     */
    Map<Integer, DeltaPlanner.PagesFilePlan> plans(BeginRequest sent, BeginResponse states, Function<PageDigests, PagesNeeded> ask,
                                                   boolean deltas) {
        if (states.getPlansCount() != sent.getPageDigestsCount()) {
            throw new IllegalStateException(states.getPlansCount() + " plans answered for " + sent.getPageDigestsCount() + " slices");
        }
        Map<Integer, List<PagesNeeded>> answered = new HashMap<>();
        for (int k = 0; k < sent.getPageDigestsCount(); k++) {
            answered.computeIfAbsent(sent.getPageDigests(k).getFileIndex(), i -> new ArrayList<>()).add(states.getPlans(k));
        }
        Map<Integer, DeltaPlanner.PagesFilePlan> plans = new HashMap<>();
        for (var e : slices.entrySet()) {
            int i = e.getKey();
            if (states.getFiles(i).getComplete()) continue;
            List<PagesNeeded> answers = answered.getOrDefault(i, List.of());
            int total = e.getValue().get(0).getTotalPages();
            BitSet need = new BitSet(total);
            boolean laidOut = true;
            for (int k = 0; k < e.getValue().size() && laidOut; k++) {
                PageDigests slice = e.getValue().get(k);
                PagesNeeded answer = k < answers.size() ? answers.get(k) : ask.apply(slice);
                laidOut = answer.getPages() == total; // else the receiver lays it out differently: plain bytes
                BitSet bits = BitSet.valueOf(answer.getNeedBitmap().toByteArray());
                int n = sliceLength(slice, e.getValue(), k); // bits are relative to the slice's first page
                for (int b = bits.nextSetBit(0); b >= 0 && b < n; b = bits.nextSetBit(b + 1)) need.set(slice.getFirstPage() + b);
            }
            if (!laidOut) continue;
            if (!deltas) need.set(0, total);
            plans.put(i, new DeltaPlanner.PagesFilePlan(need));
        }
        return plans;
    }

    /**
     * The plans a receiver that holds what {@code receiverHolds} says answers to a first Begin, one
     * per slice riding along, in the Begin's order, as {@link ReceiveSession#plan} computes them;
     * empty when some slice does not ride along (the receiver would plan it with PlanPages).
     */
    Optional<List<PagesNeeded>> predictedPlans(DeltaPlanner.Holdings receiverHolds) {
        if (pagemapChunks == null) return Optional.empty();
        List<PagesNeeded> out = new ArrayList<>();
        for (var e : slices.entrySet()) {
            List<PageDigests> fileSlices = e.getValue();
            if (inBegin.get(e.getKey()) < fileSlices.size()) return Optional.empty();
            ImageManifest.File f = scan.manifest().files().get(e.getKey());
            if (f.length() == 0) { // complete at the receiver as soon as the round begins: no plan
                fileSlices.forEach(x -> out.add(PagesNeeded.getDefaultInstance()));
                continue;
            }
            ImageScan.PagemapLayout layout = scan.layoutOf(f.name()).orElseThrow();
            long[] digests = scan.pageDigests().get(f.name());
            for (int k = 0; k < fileSlices.size(); k++) {
                PageDigests slice = fileSlices.get(k);
                int first = slice.getFirstPage(), end = first + sliceLength(slice, fileSlices, k);
                BitSet need = DeltaPlanner.needed(layout.space(), Arrays.copyOfRange(layout.vaddrs(), first, end),
                        Arrays.copyOfRange(digests, first, end), receiverHolds);
                out.add(PagesNeeded.newBuilder().setPages(slice.getTotalPages())
                        .setNeedBitmap(ByteString.copyFrom(need.toByteArray())).build());
            }
        }
        return Optional.of(out);
    }

    /** Pages of slice k: up to the next slice's first page, or the total. */
    private static int sliceLength(PageDigests slice, List<PageDigests> all, int k) {
        int end = k + 1 < all.size() ? all.get(k + 1).getFirstPage() : slice.getTotalPages();
        return end - slice.getFirstPage();
    }
}
