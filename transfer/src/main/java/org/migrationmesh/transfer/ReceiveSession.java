package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.CommitRequest;
import org.migrationmesh.proto.transfer.FileDigest;
import org.migrationmesh.proto.transfer.FileState;
import org.migrationmesh.proto.transfer.PageDigests;
import org.migrationmesh.proto.transfer.PagesNeeded;
import org.migrationmesh.transfer.TransferRefusedException.Reason;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;

/**
 * The receiving side of one round of one migration: files are rebuilt in a private staging
 * directory, each chunk checked before it counts and each file checked against its digest when
 * complete. Survives a broken stream: the next Begin of the same round resumes at each file's
 * verified length. Not thread-safe; {@link ImageReceiver} serialises calls.
 *
 * <p>A pages file planned against what the receiver holds is laid out in staging once planned
 * and then patched by its chunks ({@link StagedPages}): the work follows what changed, plus one
 * read-back of the file for the CRC checks (about 0.03 s per 400 MB from the page cache), instead
 * of copying, CRC-ing and SHA-256-ing it through the heap.
 *
 * <p>Why a wrong page is still not published: every chunk's CRC32C is computed by the sender
 * over the true bytes (from its scan, whether it sends them or not) and checked here over the
 * bytes as they lie in the staging file after the chunk was applied, so it covers held pages
 * taken in place and copied, data, zero and repeated pages alike. A page of a live file that
 * became the staging file ({@link PageStore#yieldLiveFile}) and was not written since is taken
 * with the CRC32C read back from that file as the live rounds ended
 * ({@link PageStore#readBackLiveFiles}), not read again in the downtime. A held page is only taken when
 * its 64-bit {@link PageHash} digest equals the sender's, so a wrong held page passes only if it
 * has the same 64-bit digest as the true one (a CRC32 and a CRC32C of the page's halves swapped:
 * never for a change of up to 3 bits or one burst of up to 32, about 2^-64 for content that is
 * not crafted) and leaves the chunk's CRC32C unchanged (together about 2^-95: the three CRCs are
 * linear and their 96 bits have rank 95, see {@link PageHash}). A held page whose bytes went bad in the store after its digest was
 * recorded is caught by the CRC32C alone (2^-32 per bad chunk), if it went bad before it was read back. Each data page is also checked
 * against its planned digest. The file digest of a planned pages file ({@link PageListDigest})
 * then proves that the digest list the receiver planned and checked against is the sender's.
 */
final class ReceiveSession {
    private final String migrationId;
    private final int round;
    private final ImageManifest manifest;
    private final Path staging;
    private final FileState[] states;
    private final FileChannel[] channels;
    private final MessageDigest[] digests;
    private final long[][] pageAddresses;
    private final String[] spaces;
    private final long[][] senderPageDigests;
    private final int[] digestsPlanned;
    /** Per planned pages file: pages the receiver said it holds. */
    private final BitSet[] heldByPlan;
    /** Per planned pages file: its rebuilding in staging. */
    private final StagedPages[] staged;
    /** SHA-256 of each complete file whose manifest entry has none, to check at commit. */
    private final byte[][] finalSha;
    private final PageStore store;
    private final FileHashing hashing;
    /**
     * Over this session's pages files: {pages taken in place with a live file, pages copied from other
     * held files, pages the checks read back}.
     */
    synchronized int[] laidOut() {
        int[] sum = new int[3];
        for (StagedPages sp : staged) {
            if (sp == null) continue;
            int[] one = sp.laidOut();
            for (int k = 0; k < sum.length; k++) sum[k] += one[k];
        }
        return sum;
    }

    /** Lays out planned pages files while the plan's answer travels ({@link StagedPages#layOutInBackground}); made when first needed. */
    private java.util.concurrent.ExecutorService layouts;
    private long attempt;
    /** The send_id of the latest Begin. */
    private String sendId = "";

    ReceiveSession(String migrationId, int round, ImageManifest manifest, Path staging, PageStore store) {
        this.store = store;
        this.hashing = new FileHashing("image-sha-" + migrationId + "-" + round);
        this.migrationId = migrationId;
        this.round = round;
        this.manifest = manifest;
        this.staging = staging;
        int n = manifest.files().size();
        states = new FileState[n];
        channels = new FileChannel[n];
        digests = new MessageDigest[n];
        pageAddresses = new long[n][];
        spaces = new String[n];
        senderPageDigests = new long[n][];
        digestsPlanned = new int[n];
        heldByPlan = new BitSet[n];
        staged = new StagedPages[n];
        finalSha = new byte[n][];
        for (int i = 0; i < n; i++) {
            states[i] = FileState.getDefaultInstance();
            digests[i] = sha256();
        }
    }

    ImageManifest manifest() {
        return manifest;
    }

    Path staging() {
        return staging;
    }

    /** Puts a copy of a file the receiver already holds with the same content in place of file i. */
    void reuse(int i, Path held) {
        ImageManifest.File f = manifest.files().get(i);
        ContentStore.place(held, staging.resolve(f.name()));
        states[i] = FileState.newBuilder().setVerifiedBytes(f.length()).setComplete(true).setReused(true).build();
    }

    /** An empty file needs no chunk: it is complete once created, if the manifest agrees. */
    void acceptEmpty(int i) {
        ImageManifest.File f = manifest.files().get(i);
        if (!f.hasSha256()) {
            finalSha[i] = sha256().digest();
        } else if (!Arrays.equals(sha256().digest(), f.sha256())) {
            throw refused(Reason.BAD_MANIFEST, f.name(), "empty file with the SHA-256 of non-empty content");
        }
        try {
            channel(i);
        } catch (IOException e) {
            throw new UncheckedIOException("creating staged " + f.name(), e);
        }
        closeChannel(i);
        states[i] = FileState.newBuilder().setComplete(true).build();
    }

    /**
     * Starts a new attempt (a Begin); chunks of earlier attempts are refused from now on. The
     * Begin's {@code chunks} (the pagemaps) are taken as the attempt's first chunks, skipping any
     * not at its file's verified length (the file is there already), and its {@code slices} of
     * page digests planned as PlanPages would, so the answer carries the plans too.
     */
    BeginResponse newAttempt(String sendId, List<Chunk> chunks, List<PageDigests> slices) {
        attempt++;
        this.sendId = sendId;
        for (Chunk c : chunks) {
            if (c.hasCommit()) throw refused(Reason.BAD_MANIFEST, null, "a commit among the chunks of a Begin");
            int i = c.getFileIndex();
            if (i >= 0 && i < states.length && (states[i].getComplete() || c.getOffset() != states[i].getVerifiedBytes())) continue;
            accept(c.toBuilder().setAttempt(attempt).build());
        }
        BeginResponse.Builder answer = BeginResponse.newBuilder().addAllFiles(Arrays.asList(states)).setAttempt(attempt)
                .setOneUpload(true);
        // every slice's digests first: one whose held pages differ is refused before anything is planned
        long[][] digestsOf = new long[slices.size()][];
        for (int k = 0; k < slices.size(); k++) {
            int i = slices.get(k).getFileIndex();
            if (i < 0 || i >= states.length) throw refused(Reason.BAD_MANIFEST, null, "page digests for file " + i);
            if (!states[i].getComplete()) digestsOf[k] = digestsOf(slices.get(k));
        }
        BitSet unplannable = new BitSet();
        for (int k = 0; k < slices.size(); k++) {
            PageDigests slice = slices.get(k);
            int i = slice.getFileIndex();
            PagesNeeded plan = states[i].getComplete() || unplannable.get(i) ? PagesNeeded.getDefaultInstance()
                    : plan(slice, digestsOf[k]);
            if (plan.getPages() == 0) unplannable.set(i); // no plan: later slices of the file have none either
            answer.addPlans(plan);
        }
        return answer.build();
    }

    /**
     * Takes the chunks a Begin carried speculatively (the whole upload of its attempt, planned by
     * the sender to send at least the pages this session's plans need): in order, each while it continues where its file
     * stands; chunks of files complete here are skipped (held already, as for Begin's chunks). At
     * the first that does not continue its file the rest are left, and the sender sends what is
     * missing the usual way. Returns the commit that ends them if every chunk before it was taken,
     * else null.
     */
    CommitRequest takeSpeculative(List<Chunk> chunks) {
        for (int k = 0; k < chunks.size(); k++) {
            Chunk c = chunks.get(k);
            if (!c.getMigrationId().equals(migrationId) || c.getRound() != round) {
                throw refused(Reason.BAD_MANIFEST, null, "a chunk of " + c.getMigrationId() + " round " + c.getRound()
                        + " in a Begin of round " + round);
            }
            if (c.hasCommit()) {
                if (k != chunks.size() - 1) throw refused(Reason.BAD_MANIFEST, null, "chunks after the commit of a Begin");
                CommitRequest commit = c.getCommit();
                if (!commit.getMigrationId().equals(migrationId) || commit.getRound() != round) {
                    throw refused(Reason.BAD_MANIFEST, null, "commit of " + commit.getMigrationId() + " round "
                            + commit.getRound() + " in a Begin of round " + round);
                }
                return commit;
            }
            int i = c.getFileIndex();
            if (i < 0 || i >= states.length) throw refused(Reason.CORRUPT_CHUNK, null, "no file with index " + i);
            if (states[i].getComplete()) continue;
            if (c.getOffset() != states[i].getVerifiedBytes()) return null;
            accept(c.toBuilder().setAttempt(attempt).build());
        }
        return null;
    }

    /** Where every file stands, in manifest order. */
    List<FileState> fileStates() {
        return List.of(states);
    }

    /** The send the latest Begin named. */
    String sendId() {
        return sendId;
    }

    /** Chunks of other attempts than the current one are refused. */
    void checkAttempt(long chunkAttempt, String file) {
        if (chunkAttempt != attempt) {
            throw refused(Reason.OUT_OF_ORDER, file, "chunk of attempt " + chunkAttempt + ", current attempt " + attempt);
        }
    }

    /** {@link #plan(int, int, int, long[])} of a PlanPages request. */
    PagesNeeded plan(PageDigests req) {
        return plan(req, digestsOf(req));
    }

    /** {@link #plan(int, int, int, long[])} of a slice whose digests are {@code digests}. */
    private PagesNeeded plan(PageDigests req, long[] digests) {
        Optional<BitSet> need = plan(req.getFileIndex(), req.getFirstPage(), req.getTotalPages(), digests);
        PagesNeeded.Builder b = PagesNeeded.newBuilder();
        need.ifPresent(n -> b.setPages(req.getTotalPages()).setNeedBitmap(ByteString.copyFrom(n.toByteArray())));
        return b.build();
    }

    /**
     * The digests of a slice's pages: decoded, and those it left out as held here
     * ({@link HeldDigests}) taken from the store; refused (HELD_DIGESTS_DIFFER) when the store
     * does not hold those pages with the digests the sender checked them with.
     */
    private long[] digestsOf(PageDigests req) {
        int i = req.getFileIndex();
        if (i < 0 || i >= states.length) throw refused(Reason.BAD_MANIFEST, null, "page digests for file " + i);
        ImageManifest.File f = file(i);
        byte[] bytes;
        try {
            long most = 8L * Math.max(0, (long) req.getTotalPages() - req.getFirstPage());
            bytes = ChunkCodec.decodeUpTo(req.getCodec(), req.getDigests(), (int) Math.min(most, Integer.MAX_VALUE));
        } catch (ChunkCodec.BadChunkException e) {
            throw refused(Reason.BAD_MANIFEST, f.name(), "page digests: " + e.getMessage(), e);
        }
        if (bytes.length % 8 != 0) throw refused(Reason.BAD_MANIFEST, f.name(), bytes.length + " bytes of page digests");
        long[] carried = new long[bytes.length / 8];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(carried);
        if (req.getHeldRunsCount() == 0) return carried;
        Layout layout = f.isPages() && !f.hasSha256() ? layoutOf(f).orElse(null) : null;
        if (layout == null) throw refused(Reason.BAD_MANIFEST, f.name(), "page digests left out of a file no pagemap lays out");
        int first = req.getFirstPage();
        long[] vaddrs = layout.vaddrs();
        Optional<long[]> all;
        try {
            all = HeldDigests.fillIn(req.getHeldRunsList(), carried, req.getHeldCheck(), Math.max(0, vaddrs.length - first),
                    page -> first + page < vaddrs.length
                    ? store.digestOf(new PageKey(layout.space(), vaddrs[first + page])) : java.util.OptionalLong.empty());
        } catch (IllegalArgumentException e) {
            throw refused(Reason.BAD_MANIFEST, f.name(), "page digests from page " + first + ": " + e.getMessage(), e);
        }
        if (all.isEmpty()) {
            throw refused(Reason.HELD_DIGESTS_DIFFER, f.name(), "pages from page " + first
                    + " left out as held here are not held, or not with the digests the sender has");
        }
        return all.get();
    }

    /**
     * Answers a slice of the sender's page digests for pages file i (slices come in order from
     * page 0): which of those pages it must send, as bits relative to {@code firstPage}. Empty
     * when the file cannot be laid out by a received pagemap; it then travels as plain bytes.
     */
    Optional<BitSet> plan(int i, int firstPage, int totalPages, long[] digests) {
        ImageManifest.File f = file(i);
        if (!f.isPages()) throw refused(Reason.NOT_PLANNED, f.name(), "not a pages file");
        if (firstPage == 0) {
            if (f.hasSha256()) return Optional.empty(); // its SHA-256 is to be checked: plain bytes
            Optional<Layout> layout = layoutOf(f);
            if (layout.isEmpty()) return Optional.empty();
            if (totalPages != layout.get().vaddrs().length) {
                throw refused(Reason.BAD_MANIFEST, f.name(), totalPages + " pages planned, the pagemap lays out "
                        + layout.get().vaddrs().length);
            }
            pageAddresses[i] = layout.get().vaddrs();
            spaces[i] = layout.get().space();
            senderPageDigests[i] = new long[totalPages];
            heldByPlan[i] = new BitSet(totalPages);
            if (staged[i] == null) staged[i] = new StagedPages(staging.resolve(f.name()), spaces[i], pageAddresses[i]);
            digestsPlanned[i] = 0;
        } else if (senderPageDigests[i] == null || firstPage != digestsPlanned[i] || totalPages != senderPageDigests[i].length) {
            throw refused(Reason.NOT_PLANNED, f.name(), "digest slice from page " + firstPage + " out of order");
        }
        long[] all = senderPageDigests[i];
        if (firstPage + (long) digests.length > all.length) {
            throw refused(Reason.BAD_MANIFEST, f.name(), digests.length + " digests from page " + firstPage + " of " + all.length);
        }
        int n = digests.length;
        System.arraycopy(digests, 0, all, firstPage, n);
        digestsPlanned[i] = firstPage + n;
        BitSet need = DeltaPlanner.needed(spaces[i], Arrays.copyOfRange(pageAddresses[i], firstPage, firstPage + n),
                Arrays.copyOfRange(all, firstPage, firstPage + n), store::holds);
        for (int b = 0; b < n; b++) {
            int page = firstPage + b;
            if (need.get(b) && staged[i].holds(page, all[page])) need.clear(b);
            if (!need.get(b)) heldByPlan[i].set(page);
        }
        if (digestsPlanned[i] == all.length) {
            closeChannel(i);
            staged[i].layOutInBackground(all, heldByPlan[i], states[i].getVerifiedBytes(), f.length(), store, layouts());
        }
        return Optional.of(need);
    }

    private record Layout(String space, long[] vaddrs) {}

    private Optional<Layout> layoutOf(ImageManifest.File pages) {
        for (int j = 0; j < manifest.files().size(); j++) {
            ImageManifest.File f = manifest.files().get(j);
            Optional<String> space = PagemapImage.spaceOf(f.name());
            if (space.isEmpty()) continue;
            if (!states[j].getComplete()) {
                throw refused(Reason.NOT_PLANNED, pages.name(), "pagemap " + f.name() + " not received yet");
            }
            PagemapImage pm;
            try {
                pm = PagemapImage.parse(Files.readAllBytes(staging.resolve(f.name())));
            } catch (IllegalArgumentException e) {
                continue; // not a pagemap we understand: its pages travel as plain bytes
            } catch (IOException e) {
                throw new UncheckedIOException("reading staged " + f.name(), e);
            }
            if (!pm.pagesFileName().equals(pages.name())) continue;
            Optional<long[]> vaddrs = pm.pageAddresses(pages.length());
            return vaddrs.map(v -> new Layout(space.get(), v));
        }
        return Optional.empty();
    }

    /** Checks and writes one chunk; returns its decoded length. */
    int accept(Chunk c) {
        int i = c.getFileIndex();
        if (i < 0 || i >= states.length) throw refused(Reason.CORRUPT_CHUNK, null, "no file with index " + i);
        ImageManifest.File f = file(i);
        long verified = states[i].getVerifiedBytes();
        checkAttempt(c.getAttempt(), f.name());
        if (c.getLength() <= 0 || c.getLength() > ChunkCodec.MAX_CHUNK_BYTES) {
            throw refused(Reason.OVERSIZED, f.name(), "chunk of " + c.getLength() + " bytes (max " + ChunkCodec.MAX_CHUNK_BYTES + ")");
        }
        if (c.getOffset() + c.getLength() > f.length()) {
            throw refused(Reason.OVERSIZED, f.name(), "chunk [" + c.getOffset() + ", +" + c.getLength() + ") beyond length " + f.length());
        }
        if (c.getOffset() != verified) {
            throw refused(Reason.OUT_OF_ORDER, f.name(), "chunk at offset " + c.getOffset() + ", expected " + verified);
        }
        if (f.isPages() && c.getPageOps().size() > 0
                && (senderPageDigests[i] == null || digestsPlanned[i] != senderPageDigests[i].length)) {
            throw refused(Reason.NOT_PLANNED, f.name(), "page chunk before all its pages were planned");
        }
        if (senderPageDigests[i] != null) return acceptPages(c, i, f, verified);
        byte[] bytes;
        try {
            if (c.getPageOps().size() > 0 || c.getDupOfCount() > 0) throw new ChunkCodec.BadChunkException("page ops in a plain chunk");
            bytes = ChunkCodec.decodePlain(c);
        } catch (ChunkCodec.BadChunkException e) {
            throw refused(Reason.CORRUPT_CHUNK, f.name(), "chunk at offset " + c.getOffset() + ": " + e.getMessage(), e);
        }
        write(i, ByteBuffer.wrap(bytes), c.getOffset());
        long now = verified + bytes.length;
        // a file in one chunk (most files of an image: a few KiB) is hashed here: handing it to the
        // hashing thread and waiting for its digest costs more than the hash, twice per file on a busy host
        boolean whole = verified == 0 && now == f.length();
        if (whole) {
            digests[i].update(bytes);
        } else {
            hashing.update(digests[i], bytes);
        }
        FileState.Builder st = states[i].toBuilder().setVerifiedBytes(now);
        if (now == f.length()) {
            byte[] sha = whole ? digests[i].digest() : hashing.digest(digests[i]);
            if (!f.hasSha256()) {
                finalSha[i] = sha;
            } else if (!Arrays.equals(sha, f.sha256())) {
                resetFile(i);
                throw refused(Reason.FILE_DIGEST_MISMATCH, f.name(), "rebuilt file's SHA-256 differs from the manifest");
            }
            closeChannel(i);
            st.setComplete(true);
        }
        states[i] = st.build();
        return bytes.length;
    }

    /** A chunk of a planned pages file: applied in staging, then checked there. */
    private int acceptPages(Chunk c, int i, ImageManifest.File f, long verified) {
        try {
            if (c.getOffset() % PageHash.PAGE_SIZE != 0) throw new ChunkCodec.BadChunkException("pages chunk not page aligned");
            if (c.getPageOps().isEmpty()) throw new ChunkCodec.BadChunkException("no page ops in a chunk of a planned pages file");
            ChunkCodec.decodePages(c, (int) (c.getOffset() / PageHash.PAGE_SIZE), senderPageDigests[i], staged[i]);
        } catch (ChunkCodec.BadChunkException e) {
            // pages of the range may have been overwritten: none of them counts as held in place any more
            staged[i].forget((int) (c.getOffset() / PageHash.PAGE_SIZE), (int) ((c.getOffset() + c.getLength()) / PageHash.PAGE_SIZE));
            throw refused(Reason.CORRUPT_CHUNK, f.name(), "chunk at offset " + c.getOffset() + ": " + e.getMessage(), e);
        }
        long now = verified + c.getLength();
        FileState.Builder st = states[i].toBuilder().setVerifiedBytes(now);
        if (now == f.length()) {
            finalSha[i] = PageListDigest.of(f.length(), senderPageDigests[i]);
            staged[i].close();
            st.setComplete(true);
        }
        states[i] = st.build();
        return c.getLength();
    }

    /**
     * Refuses unless every file is complete and every file whose SHA-256 comes with the commit
     * ({@code digests}) matches it; a file that does not match is dropped, to be sent again.
     */
    void checkComplete(List<FileDigest> commitDigests) {
        byte[][] given = new byte[states.length][];
        for (FileDigest d : commitDigests) {
            if (d.getFileIndex() >= states.length) throw refused(Reason.BAD_MANIFEST, null, "digest for file " + d.getFileIndex());
            given[d.getFileIndex()] = d.getSha256().toByteArray();
        }
        for (int i = 0; i < states.length; i++) {
            if (!states[i].getComplete()) {
                throw refused(Reason.TRUNCATED, file(i).name(),
                        "has " + states[i].getVerifiedBytes() + " of " + file(i).length() + " bytes");
            }
            if (file(i).hasSha256()) continue;
            if (given[i] == null || given[i].length != 32) {
                throw refused(Reason.BAD_MANIFEST, file(i).name(), "no SHA-256 in the manifest nor at commit");
            }
            if (!Arrays.equals(given[i], finalSha[i])) {
                resetFile(i);
                throw refused(Reason.FILE_DIGEST_MISMATCH, file(i).name(), "rebuilt file's SHA-256 differs from the one given at commit");
            }
        }
    }

    /** Pages files of this round with their layout, for the page store once published. */
    List<Integer> plannedPagesFiles() {
        List<Integer> out = new java.util.ArrayList<>();
        for (int i = 0; i < states.length; i++) if (senderPageDigests[i] != null) out.add(i);
        return out;
    }

    String space(int i) {
        return spaces[i];
    }

    long[] pageAddresses(int i) {
        return pageAddresses[i];
    }

    long[] pageDigests(int i) {
        return senderPageDigests[i];
    }

    void close() {
        hashing.close();
        try {
            for (StagedPages sp : staged) if (sp != null) sp.close(); // waits for layouts in the background
        } finally {
            if (layouts != null) layouts.shutdownNow();
        }
        for (int i = 0; i < channels.length; i++) {
            closeChannel(i);
            if (staged[i] != null) staged[i].close();
        }
    }

    private java.util.concurrent.Executor layouts() {
        if (layouts == null) {
            layouts = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "image-layout-" + migrationId + "-" + round);
                t.setDaemon(true);
                return t;
            });
        }
        return layouts;
    }

    private ImageManifest.File file(int i) {
        return manifest.files().get(i);
    }

    private FileChannel channel(int i) throws IOException {
        if (channels[i] == null) {
            Path p = staging.resolve(file(i).name());
            if (Files.isSymbolicLink(p)) throw refused(Reason.BAD_NAME, file(i).name(), "is a link in staging");
            channels[i] = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        }
        return channels[i];
    }

    private void write(int i, ByteBuffer b, long offset) {
        try {
            FileChannel ch = channel(i);
            long pos = offset;
            while (b.hasRemaining()) pos += ch.write(b, pos);
        } catch (IOException e) {
            throw new UncheckedIOException("writing staged " + file(i).name(), e);
        }
    }

    private void resetFile(int i) {
        try {
            channel(i).truncate(0);
        } catch (IOException e) {
            throw new UncheckedIOException("truncating staged " + file(i).name(), e);
        }
        hashing.digest(digests[i]); // drains what was queued for the old digest
        digests[i] = sha256();
        finalSha[i] = null;
        if (staged[i] != null) staged[i].close();
        staged[i] = null;
        states[i] = FileState.getDefaultInstance();
    }

    private void closeChannel(int i) {
        if (channels[i] == null) return;
        try {
            channels[i].close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing staged " + file(i).name(), e);
        } finally {
            channels[i] = null;
        }
    }

    private TransferRefusedException refused(Reason r, String file, String detail) {
        return new TransferRefusedException(migrationId, round, r, file, detail);
    }

    private TransferRefusedException refused(Reason r, String file, String detail, Throwable cause) {
        return new TransferRefusedException(migrationId, round, r, file, detail, cause);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
