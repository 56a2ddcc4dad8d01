package org.migrationmesh.transfer;

import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.CommitRequest;
import org.migrationmesh.proto.transfer.CommitResponse;
import org.migrationmesh.proto.transfer.FileDigest;
import org.migrationmesh.proto.transfer.PageDigests;
import org.migrationmesh.proto.transfer.PagesNeeded;
import org.migrationmesh.transfer.TransferRefusedException.Reason;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Everything a receiver holds for one migration: the newest published round, its files by
 * content, the page store, and the rounds being received. Thread-safe (one monitor).
 */
final class MigrationImages {
    private static final Logger log = LoggerFactory.getLogger(MigrationImages.class);
    private final String migrationId;
    private final Path dir;
    private final FilePageStore store;
    private final Map<Integer, ReceiveSession> sessions = new HashMap<>();
    private final ContentStore content;
    private int publishedRound = -1;
    private Path published;
    /** The send that committed the published round, and what its commit was answered. */
    private String publishedSendId;
    private CommitResponse publishedAnswer;

    MigrationImages(String migrationId, Path dir, ContentStore content) {
        this.migrationId = migrationId;
        this.content = content;
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("creating " + dir, e);
        }
        this.store = new FilePageStore(dir);
    }

    PageStore store() {
        return store;
    }

    /** At info level, but for the agent's warm-up at start ({@link TransferWarmUp}): debug. */
    private void info(String format, Object... args) {
        if (TransferWarmUp.quiet(migrationId)) log.debug(format, args);
        else log.info(format, args);
    }

    FilePageStore fileStore() {
        return store;
    }

    /** What the parent image gave this migration's pages, once asked; null before. */
    private List<ParentImages.Seeded> seeded;

    /**
     * Starts this migration's pages from the parent image of {@code container} kept in
     * {@code parents}, once (asked again, answers what it gave the first time).
     */
    synchronized List<ParentImages.Seeded> seedFrom(ParentImages parents, String container) {
        if (seeded == null) {
            long t0 = System.nanoTime();
            seeded = List.copyOf(parents.seed(container, store));
            log.info("started from the parent image migration={} container={} pages={} ms={}", migrationId, container,
                    seeded.stream().mapToInt(s -> s.vaddrs().length).sum(), (System.nanoTime() - t0) / 1_000_000);
        }
        return seeded;
    }

    synchronized Optional<Path> published() {
        return Optional.ofNullable(published);
    }

    /**
     * Starts an attempt of round {@code round} (resuming the round if its manifest is the same),
     * taking {@code chunks} and planning {@code slices} of page digests as
     * {@link ReceiveSession#newAttempt} does. A Begin of the published round by the send that
     * committed it ({@code sendId}) is answered with what was published.
     */
    synchronized BeginResponse begin(int round, ImageManifest manifest, String sendId, List<Chunk> chunks, List<PageDigests> slices) {
        return begin(round, manifest, sendId, chunks, slices, List.of(), List.of());
    }

    /**
     * As {@link #begin(int, ImageManifest, String, List, List)}, then, if {@code predicted} sends
     * every page this receiver's plans need ({@link #covers}), takes the {@code speculative} chunks of the whole upload as
     * {@link ReceiveSession#takeSpeculative} does and publishes the round if they end with its
     * commit: the answer then carries the published round. Otherwise the answer is as without them
     * (files as they stand now).
     */
    synchronized BeginResponse begin(int round, ImageManifest manifest, String sendId, List<Chunk> chunks, List<PageDigests> slices,
                                     List<PagesNeeded> predicted, List<Chunk> speculative) {
        long t0 = System.nanoTime();
        BeginResponse answer = attempt(round, manifest, sendId, chunks, slices);
        if (speculative.isEmpty() || answer.hasPublished()) return answer;
        long planned = System.nanoTime();
        if (!covers(predicted, answer.getPlansList())) {
            log.info("speculative upload not taken: the sender counted on pages not held here migration={} round={}"
                    + " sentNeeded={} plannedNeeded={}", migrationId, round, needed(predicted), needed(answer.getPlansList()));
            return answer;
        }
        ReceiveSession s = session(round);
        CommitRequest commit;
        BeginResponse.Builder taken;
        synchronized (s) {
            commit = s.takeSpeculative(speculative);
            taken = answer.toBuilder().clearFiles().addAllFiles(s.fileStates());
        }
        long laid = System.nanoTime();
        if (commit != null) taken.setPublished(commit(round, commit.getDigestsList()));
        long done = System.nanoTime();
        info("one-upload round taken migration={} round={} published={} planMs={} chunksMs={} commitMs={}", migrationId,
                round, commit != null, (planned - t0) / 1_000_000, (laid - planned) / 1_000_000, (done - laid) / 1_000_000);
        return taken.build();
    }

    /**
     * Whether an upload planned by {@code predicted} can be taken where {@code planned} is this
     * receiver's plan: slice for slice the same files and pages, and every page it needs among
     * those sent. Pages sent that it holds already are taken as sent; a page the sender counted
     * as held must be held here.
     */
    static boolean covers(List<PagesNeeded> predicted, List<PagesNeeded> planned) {
        if (predicted.size() != planned.size()) return false;
        for (int k = 0; k < planned.size(); k++) {
            if (predicted.get(k).getPages() != planned.get(k).getPages()) return false;
            java.util.BitSet missing = java.util.BitSet.valueOf(planned.get(k).getNeedBitmap().toByteArray());
            missing.andNot(java.util.BitSet.valueOf(predicted.get(k).getNeedBitmap().toByteArray()));
            if (!missing.isEmpty()) return false;
        }
        return true;
    }

    /** Pages the plans say must be sent. */
    private static int needed(List<PagesNeeded> plans) {
        int n = 0;
        for (PagesNeeded p : plans) n += java.util.BitSet.valueOf(p.getNeedBitmap().toByteArray()).cardinality();
        return n;
    }

    private BeginResponse attempt(int round, ImageManifest manifest, String sendId, List<Chunk> chunks, List<PageDigests> slices) {
        if (round == publishedRound && !sendId.isEmpty() && sendId.equals(publishedSendId)) {
            return BeginResponse.newBuilder().setPublished(publishedAnswer).setOneUpload(true).build();
        }
        if (round <= publishedRound) {
            throw new TransferRefusedException(migrationId, round, Reason.BAD_MANIFEST, null,
                    "round " + publishedRound + " is already published");
        }
        ReceiveSession s = sessions.get(round);
        if (s != null) {
            synchronized (s) { // an upload of the previous attempt may still be draining
                if (s.manifest().toProto().equals(manifest.toProto())) return s.newAttempt(sendId, chunks, slices);
                s.close();
                deleteTree(s.staging());
            }
        }
        Path staging = dir.resolve(".staging-round-" + round + "-" + UUID.randomUUID());
        try {
            Files.createDirectory(staging);
        } catch (IOException e) {
            throw new UncheckedIOException("creating " + staging, e);
        }
        s = new ReceiveSession(migrationId, round, manifest, staging, store);
        synchronized (s) {
            for (int i = 0; i < manifest.files().size(); i++) {
                ImageManifest.File f = manifest.files().get(i);
                Optional<Path> held = f.hasSha256() ? content.find(f.sha256Hex(), f.length()) : Optional.empty();
                if (f.length() == 0) s.acceptEmpty(i);
                else if (held.isPresent()) s.reuse(i, held.get());
            }
            sessions.put(round, s);
            return s.newAttempt(sendId, chunks, slices);
        }
    }

    synchronized ReceiveSession session(int round) {
        ReceiveSession s = sessions.get(round);
        if (s == null) {
            throw new TransferRefusedException(migrationId, round, Reason.NO_SESSION, null, "no Begin for this round");
        }
        return s;
    }

    /** Verifies the round complete, publishes it atomically and makes it what later rounds compare against. */
    synchronized CommitResponse commit(int round, List<FileDigest> digests) {
        ReceiveSession s = session(round);
        int[] laidOut;
        synchronized (s) {
            s.checkComplete(digests);
            laidOut = s.laidOut();
            s.close();
        }
        Path target = dir.resolve("round-" + round);
        if (Files.exists(target)) deleteTree(target); // leftover of an earlier, unpublished attempt
        try {
            Files.move(s.staging(), target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IllegalStateException("staging and image directory must be on one file system: " + dir, e);
        } catch (IOException e) {
            throw new UncheckedIOException("publishing " + target, e);
        }
        sessions.remove(round);
        for (int i : s.plannedPagesFiles()) {
            store.adoptRound(round, target.resolve(s.manifest().files().get(i).name()), s.space(i), s.pageAddresses(i),
                    s.pageDigests(i));
        }
        for (ImageManifest.File f : s.manifest().files()) {
            if (f.hasSha256() && f.length() > 0) content.add(target.resolve(f.name()), f.sha256Hex());
        }
        Path previous = published;
        published = target;
        publishedRound = round;
        if (previous != null) deleteTree(previous);
        publishedSendId = s.sendId();
        publishedAnswer = CommitResponse.newBuilder().setImageDir(target.toString()).setFiles(s.manifest().files().size())
                .setBytes(s.manifest().totalBytes()).build();
        if (!s.plannedPagesFiles().isEmpty()) {
            info("round published migration={} round={} pagesInPlace={} pagesCopied={} pagesReadBack={}", migrationId, round,
                    laidOut[0], laidOut[1], laidOut[2]);
        }
        return publishedAnswer;
    }

    synchronized void close() {
        sessions.values().forEach(ReceiveSession::close);
        store.close();
    }

    synchronized void discard() {
        close();
        sessions.clear();
        deleteTree(dir);
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        } catch (IOException e) {
            throw new UncheckedIOException("deleting " + p, e);
        }
    }
}
