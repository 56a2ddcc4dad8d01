package org.migrationmesh.transfer;

import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.FileState;

import java.time.Duration;

/** The sender's running figures of one round, across attempts. Not thread-safe. */
final class RoundTally {
    /** gRPC frames each message with 5 bytes (flag + length). */
    private static final int FRAME = 5;
    private final long logicalTotal;
    private final TransferListener listener;
    private long wire;
    private long payload;
    private long pages;
    private long pagesSent;
    private long pagesUnchanged;
    private long pagesZero;
    private long pagesDuplicate;
    private long resumed;
    private long inPlace;
    private int reused;
    private Duration scanning = Duration.ZERO;
    private Duration planning = Duration.ZERO;
    private Duration committing = Duration.ZERO;

    RoundTally(long logicalTotal, TransferListener listener) {
        this.logicalTotal = logicalTotal;
        this.listener = listener;
    }

    void startAttempt() {
        inPlace = 0;
    }

    void wire(long messageBytes) {
        wire += messageBytes + FRAME;
    }

    /** What the receiver reports in place at the start of an attempt. */
    void resumed(BeginResponse states, ImageManifest manifest) {
        reused = 0;
        for (int i = 0; i < states.getFilesCount(); i++) {
            FileState s = states.getFiles(i);
            if (s.getReused()) {
                reused++;
            } else {
                resumed += s.getVerifiedBytes();
            }
            inPlace += s.getVerifiedBytes();
        }
        listener.onProgress(new TransferProgress("", inPlace, logicalTotal, wire));
    }

    void scanned(Duration d) {
        scanning = scanning.plus(d);
    }

    void planned(Duration d) {
        planning = planning.plus(d);
    }

    void committed(Duration d) {
        committing = committing.plus(d);
    }

    void pages(int total, int sent, int unchanged, int zero, int duplicate) {
        pages += total;
        pagesSent += sent;
        pagesUnchanged += unchanged;
        pagesZero += zero;
        pagesDuplicate += duplicate;
    }

    void chunk(String file, int logicalBytes, int payloadBytes, int messageBytes) {
        payload += payloadBytes;
        wire(messageBytes);
        inPlace += logicalBytes;
        listener.onProgress(new TransferProgress(file, inPlace, logicalTotal, wire));
    }

    /** Adds the figures of an upload that rode with the Begin and was taken (its bytes are the Begin's, counted already). */
    void took(RoundTally speculated) {
        payload += speculated.payload;
        inPlace += speculated.inPlace;
        pages += speculated.pages;
        pagesSent += speculated.pagesSent;
        pagesUnchanged += speculated.pagesUnchanged;
        pagesZero += speculated.pagesZero;
        pagesDuplicate += speculated.pagesDuplicate;
    }

    TransferReport report(String migrationId, int round, int files, int attempts, Duration elapsed, String imageDir) {
        return new TransferReport(migrationId, round, files, reused, logicalTotal, wire, payload, pages, pagesSent,
                pagesUnchanged, pagesZero, pagesDuplicate, attempts > 1 ? resumed : 0, attempts, elapsed,
                scanning, planning, committing, imageDir);
    }
}
