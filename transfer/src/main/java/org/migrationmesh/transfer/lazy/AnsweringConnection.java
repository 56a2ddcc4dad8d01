package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;
import io.grpc.stub.CallStreamObserver;
import org.migrationmesh.proto.lazypages.HeldPages;
import org.migrationmesh.proto.lazypages.PushedAck;
import org.migrationmesh.proto.lazypages.PushedPages;
import org.migrationmesh.proto.lazypages.RelayEnd;
import org.migrationmesh.proto.lazypages.RelayFrame;
import org.migrationmesh.transfer.PageStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * The destination's side of a relay call with pushes: the lazy-pages daemon's connection,
 * answered from the pages the source pushed where possible ({@link DaemonAnswers}), or from
 * this side's copies of pages the pre-copy sent, when the source says they did not change
 * ({@link PreCopiedCopies}); its other requests forwarded to the source. Pushed frames are acknowledged once stored, while the
 * cache is below three quarters of its budget; beyond, acknowledgements wait until the daemon
 * has taken pages out, which stops the source's pushes (its window fills) instead of sending
 * pages the cache would have to refuse.
 */
final class AnsweringConnection extends RelayLink {
    private static final Logger log = LoggerFactory.getLogger(AnsweringConnection.class);

    private final Object lock = new Object(); // guards answers, cache and writes to the daemon
    private final PageCache cache;
    private final DaemonAnswers answers;
    private final IovSplitter splitter = new IovSplitter();
    private final PreCopiedCopies copies; // guarded by lock
    private OutputStream toDaemon; // guarded by lock; null until the daemon is attached
    private final long ackBelow;
    private long ackOwed; // guarded by lock

    /**
     * {@code daemon}: the daemon's connection, or null to take pushed pages before it connects
     * ({@link #attach}). {@code preCopied}: the copies of the pages the pre-copy sent here, for
     * {@code held} frames; or null.
     */
    AnsweringConnection(String migrationId, Socket daemon, CallStreamObserver<RelayFrame> out, ReadyGate gate, long cacheBudget,
                        PageStore preCopied) throws IOException {
        super(migrationId, daemon, out, gate);
        this.copies = preCopied == null ? null : new PreCopiedCopies(preCopied);
        this.cache = new PageCache(cacheBudget, copies);
        this.ackBelow = cacheBudget - cacheBudget / 4;
        this.answers = new DaemonAnswers(cache);
        this.toDaemon = daemon == null ? null : new BufferedOutputStream(daemon.getOutputStream(), 1 << 16);
    }

    @Override
    void start() {
        if (socket == null) return; // started by attach
        Thread t = new Thread(this::pumpRequests, "lazy-answer-" + migrationId);
        t.setDaemon(true);
        t.start();
    }

    /**
     * Gives a connection made before the daemon connected ({@code daemon} null) the daemon's
     * socket, and starts answering it. False if the link has ended already (e.g. the source
     * refused the call): the socket is then the caller's.
     */
    boolean attach(Socket daemon) throws IOException {
        synchronized (lock) {
            if (socket != null) throw new IllegalStateException("migration " + migrationId + ": a daemon is attached already");
            if (finished()) return false;
            toDaemon = new BufferedOutputStream(daemon.getOutputStream(), 1 << 16);
            socket = daemon;
        }
        start();
        return true;
    }

    @Override
    void onFrame(RelayFrame frame) {
        try {
            switch (frame.getKindCase()) {
                case DATA -> {
                    byte[] b = frame.getData().toByteArray();
                    bytesIn.addAndGet(b.length);
                    long ack;
                    log.debug("lazy relay: answer bytes from the source migration={} bytes={}", migrationId, b.length);
                    synchronized (lock) {
                        writeToDaemon(answers.onForwardedAnswerBytes(b, 0, b.length));
                        ack = ackDue();
                    }
                    sendAck(ack);
                }
                case PUSHED, HELD -> {
                    long weight = PushedFrames.weight(frame);
                    bytesIn.addAndGet(weight);
                    long ack;
                    synchronized (lock) {
                        if (frame.hasPushed()) {
                            PushedPages p = frame.getPushed();
                            cache.put(p.getDstId(), p.getVaddr(), p.getPages());
                        } else {
                            HeldPages h = frame.getHeld();
                            cache.putHeld(h.getDstId(), h.getVaddr(), h.getDigestsList());
                        }
                        ackOwed += weight;
                        ack = ackDue();
                    }
                    sendAck(ack);
                }
                case END -> {
                    if (!frame.getEnd().getError().isEmpty()) {
                        fail(new IOException("the source ended with: " + frame.getEnd().getError()));
                        return;
                    }
                    synchronized (lock) {
                        if (toDaemon == null) {
                            fail(new IOException("the source ended the relay before the lazy-pages daemon connected"));
                            return;
                        }
                        toDaemon.flush();
                    }
                    socket.shutdownOutput();
                    inputEnded();
                }
                default -> fail(new IOException("unexpected relay frame " + frame.getKindCase()));
            }
        } catch (IOException | IllegalStateException | IllegalArgumentException e) {
            fail(e);
        }
    }

    /** The acknowledgement to send now, if the cache has room; caller holds {@code lock}. */
    private long ackDue() {
        if (ackOwed == 0 || cache.bytes() >= ackBelow) return 0;
        long a = ackOwed;
        ackOwed = 0;
        return a;
    }

    private void sendAck(long bytes) {
        if (bytes == 0) return;
        synchronized (out) {
            out.onNext(RelayFrame.newBuilder().setAcked(PushedAck.newBuilder().setBytes(bytes)).build());
        }
    }

    /** Caller holds {@code lock}. */
    private void writeToDaemon(List<byte[]> chunks) throws IOException {
        if (chunks.isEmpty()) return;
        for (byte[] c : chunks) toDaemon.write(c);
        toDaemon.flush();
    }

    private void pumpRequests() {
        byte[] buf = new byte[RelayConnection.CHUNK];
        try {
            InputStream in = socket.getInputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                List<PageServerIov> forward = new ArrayList<>();
                long ack;
                synchronized (lock) {
                    for (PageServerIov iov : splitter.feed(buf, 0, n)) {
                        DaemonAnswers.Decision d = answers.onDaemonRequest(iov);
                        log.debug("lazy relay: daemon request migration={} {} {}", migrationId, iov,
                                d.forward() == null ? "answered here" : "forwarded " + d.forward());
                        writeToDaemon(d.toDaemon());
                        if (d.forward() != null) forward.add(d.forward());
                    }
                    ack = ackDue();
                }
                sendAck(ack);
                if (forward.isEmpty()) continue;
                ByteString.Output bytes = ByteString.newOutput(forward.size() * PageServerIov.SIZE);
                for (PageServerIov iov : forward) bytes.write(iov.encode());
                if (!gate.awaitReady()) return;
                synchronized (out) {
                    out.onNext(RelayFrame.newBuilder().setData(bytes.toByteString()).build());
                }
            }
            if (!splitter.atBoundary()) throw new IOException("the lazy-pages daemon closed in the middle of a request");
            synchronized (out) {
                out.onNext(RelayFrame.newBuilder().setEnd(RelayEnd.getDefaultInstance()).build());
            }
            log.debug("lazy relay: daemon done migration={} local={} pages forwarded={} pages cached-left={} bytes"
                            + " fromPreCopy={} pages preCopyMissing={} pages", migrationId, answers.localPages(), answers.forwardedPages(),
                    cache.bytes(), copies == null ? 0 : copies.used(), copies == null ? 0 : copies.missing());
            outputEnded();
        } catch (IOException | IllegalStateException e) {
            fail(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(new IOException("interrupted", e));
        } catch (RuntimeException e) {
            closeAll(); // the call was cancelled under us
        }
    }

    /** Pages the source sent as digests that were answered from this side's pre-copied copies. */
    long pagesFromPreCopy() {
        synchronized (lock) {
            return copies == null ? 0 : copies.used();
        }
    }

    /** Pages of the daemon's requests answered here (from pushes) and by the source. */
    long[] pagesLocalAndForwarded() {
        synchronized (lock) {
            return new long[] {answers.localPages(), answers.forwardedPages()};
        }
    }

    @Override
    String peer() {
        Socket s = socket;
        return s == null ? "lazy-pages daemon (not connected yet)" : "lazy-pages daemon " + s.getRemoteSocketAddress();
    }

    @Override
    void release() {
        synchronized (lock) {
            cache.clear();
        }
    }
}
