package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;
import io.grpc.stub.CallStreamObserver;
import org.migrationmesh.proto.lazypages.RelayEnd;
import org.migrationmesh.proto.lazypages.RelayFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.List;

/**
 * The source's side of a relay call with pushes: the daemon's requests (from the call) go to
 * the CRIU page server as they come, with requests of our own for lazy pages nobody asked for
 * yet between them ({@link PushPlanner}); the page server's answers are routed by asker, the
 * daemon's as {@code data} frames (byte for byte), ours as {@code pushed} frames, or as
 * {@code held} frames for pages the pre-copy already sent unchanged. Frames go out only
 * while the call is ready.
 */
final class PushingRelay extends RelayLink {
    private static final Logger log = LoggerFactory.getLogger(PushingRelay.class);

    private final Object lock = new Object(); // guards planner, splitter and writes to the page server
    private final PushPlanner planner;
    private final PreCopiedPages preCopied;
    private final IovSplitter splitter = new IovSplitter();
    private boolean pageServerOutputShut;

    /** {@code preCopied}: what the destination holds from the pre-copy (sent as digests), or null. */
    PushingRelay(String migrationId, Socket pageServer, CallStreamObserver<RelayFrame> out, ReadyGate gate, PushPlanner planner,
                 PreCopiedPages preCopied) {
        super(migrationId, pageServer, out, gate);
        this.planner = planner;
        this.preCopied = preCopied;
    }

    @Override
    void start() {
        Thread t = new Thread(this::pumpAnswers, "lazy-push-" + migrationId);
        t.setDaemon(true);
        t.start();
        try {
            synchronized (lock) {
                askForPushes();
            }
        } catch (IOException e) {
            fail(e);
        }
    }

    @Override
    void onFrame(RelayFrame frame) {
        try {
            switch (frame.getKindCase()) {
                case DATA -> {
                    byte[] b = frame.getData().toByteArray();
                    bytesIn.addAndGet(b.length);
                    synchronized (lock) {
                        OutputStream os = socket.getOutputStream();
                        for (PageServerIov iov : splitter.feed(b, 0, b.length)) {
                            log.debug("lazy relay: daemon asks migration={} {} pushesAhead={} pushedBytes={} heldBytes={}",
                                    migrationId, iov, planner.pushesOutstanding(), planner.pushedBytes(), planner.heldBytes());
                            planner.onDaemonRequest(iov);
                            os.write(iov.encode());
                        }
                        askForPushes();
                    }
                }
                case ACKED -> {
                    synchronized (lock) {
                        planner.onAck(frame.getAcked().getBytes());
                        askForPushes();
                    }
                }
                case END -> {
                    if (!frame.getEnd().getError().isEmpty()) {
                        fail(new IOException("the destination ended with: " + frame.getEnd().getError()));
                        return;
                    }
                    synchronized (lock) {
                        pageServerOutputShut = true;
                        socket.shutdownOutput();
                    }
                    inputEnded();
                }
                default -> fail(new IOException("unexpected relay frame " + frame.getKindCase()));
            }
        } catch (IOException | IllegalStateException e) {
            fail(e);
        }
    }

    /** Caller holds {@code lock}. */
    private void askForPushes() throws IOException {
        if (pageServerOutputShut) return;
        List<PageServerIov> pushes = planner.nextPushes();
        OutputStream os = socket.getOutputStream();
        for (PageServerIov iov : pushes) os.write(iov.encode());
        os.flush();
    }

    private void pumpAnswers() {
        byte[] head = new byte[PageServerIov.SIZE];
        try {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 18));
            int first;
            while ((first = in.read()) >= 0) {
                PushPlanner.Asked expected;
                synchronized (lock) {
                    expected = planner.expected();
                }
                if (expected == null) throw new IOException("the page server sent bytes nobody asked for");
                if (expected.iov().isClose()) {
                    byte[] status = new byte[PageServerIov.CLOSE_ANSWER_SIZE];
                    status[0] = (byte) first;
                    in.readFully(status, 1, status.length - 1);
                    synchronized (lock) {
                        planner.onCloseAnswer();
                    }
                    send(RelayFrame.newBuilder().setData(ByteString.copyFrom(status)).build());
                    continue;
                }
                head[0] = (byte) first;
                in.readFully(head, 1, head.length - 1);
                PageServerIov h = PageServerIov.decode(head, 0);
                PushPlanner.Asked asked;
                synchronized (lock) {
                    asked = planner.onAnswer(h);
                }
                if (asked.asker() == PushPlanner.Asker.DAEMON) {
                    relayAnswer(in, head, h.bytes());
                    log.debug("lazy relay: answered the daemon migration={} {}", migrationId, h);
                } else {
                    byte[] pages = new byte[Math.toIntExact(h.bytes())];
                    in.readFully(pages);
                    long weight = 0;
                    for (RelayFrame f : PushedFrames.of(h.dstId(), h.vaddr(), pages, preCopied)) {
                        weight += PushedFrames.weight(f);
                        send(f);
                    }
                    synchronized (lock) {
                        planner.onSentAs(h.bytes(), weight);
                        askForPushes();
                    }
                }
            }
            send(RelayFrame.newBuilder().setEnd(RelayEnd.getDefaultInstance()).build());
            log.debug("lazy relay: page server done migration={} pushed={} bytes asDigests={} bytes left-to-push={} pages",
                    migrationId, planner.pushedBytes(), planner.heldBytes(), planner.pagesLeftToPush());
            outputEnded();
        } catch (EOFException e) {
            fail(new IOException("the page server closed in the middle of an answer", e));
        } catch (IOException | IllegalStateException e) {
            fail(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(new IOException("interrupted", e));
        } catch (RuntimeException e) {
            closeAll(); // the call was cancelled under us
        }
    }

    /** The header and pages of an answer to the daemon, as data frames of at most a chunk each. */
    private void relayAnswer(DataInputStream in, byte[] head, long pageBytes) throws IOException, InterruptedException {
        byte[] buf = new byte[RelayConnection.CHUNK];
        System.arraycopy(head, 0, buf, 0, head.length);
        int filled = head.length;
        long left = pageBytes;
        while (true) {
            int n = (int) Math.min(buf.length - filled, left);
            in.readFully(buf, filled, n);
            filled += n;
            left -= n;
            send(RelayFrame.newBuilder().setData(ByteString.copyFrom(buf, 0, filled)).build());
            if (left == 0) return;
            filled = 0;
        }
    }

    private void send(RelayFrame frame) throws InterruptedException, IOException {
        if (!gate.awaitReady()) throw new IOException("the relay call closed");
        synchronized (out) {
            out.onNext(frame);
        }
    }

    @Override
    String peer() {
        return "page server " + socket.getRemoteSocketAddress();
    }
}
