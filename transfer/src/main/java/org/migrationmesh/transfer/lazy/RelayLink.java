package org.migrationmesh.transfer.lazy;

import org.migrationmesh.proto.lazypages.RelayEnd;
import org.migrationmesh.proto.lazypages.RelayFrame;
import io.grpc.stub.CallStreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One TCP connection (to CRIU's page server or from its lazy-pages daemon) joined to one relay
 * call, and the life both directions share: each side's end closes its direction, the call
 * completes once both have ended, and an error on either side ends everything, telling the
 * other agent why. What flows, and how, is the subclass's.
 */
abstract class RelayLink {
    private static final Logger log = LoggerFactory.getLogger(RelayLink.class);

    protected final String migrationId;
    /** Null until a link made before its connection is attached (see {@link AnsweringConnection#attach}). */
    protected volatile Socket socket;
    protected final CallStreamObserver<RelayFrame> out;
    protected final ReadyGate gate;
    /** Bytes that came from the other agent (pages and headers, pushed or asked). */
    protected final AtomicLong bytesIn = new AtomicLong();
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile boolean outputDone;
    private volatile boolean inputDone;

    /** {@code gate} must have been made for {@code out} when its call started (gRPC's rule for onReady handlers). */
    RelayLink(String migrationId, Socket socket, CallStreamObserver<RelayFrame> out, ReadyGate gate) {
        this.migrationId = migrationId;
        this.socket = socket;
        this.out = out;
        this.gate = gate;
    }

    /** Starts the thread that reads the socket. */
    abstract void start();

    /** A frame from the other agent. */
    abstract void onFrame(RelayFrame frame);

    /** What the socket reaches, for error messages (e.g. "page server /127.0.0.1:1234"). */
    abstract String peer();

    /** Releases what the link holds besides its socket (e.g. a page cache); called once, at the end. */
    void release() {
    }

    /** The call failed or was cancelled: close everything. */
    void onCallError(Throwable t) {
        log.debug("lazy relay call ended migration={} cause={}", migrationId, t.toString());
        closeAll();
    }

    /** The other agent completed its side of the call. */
    void onCallCompleted() {
        inputEnded();
    }

    long bytesFromPeer() {
        return bytesIn.get();
    }

    /** Nothing more will come from the other agent. */
    protected final void inputEnded() {
        inputDone = true;
        finishIfBothDone();
    }

    /** Nothing more will go to the other agent (this side's end frame is sent). */
    protected final void outputEnded() {
        outputDone = true;
        finishIfBothDone();
    }

    private void finishIfBothDone() {
        if (outputDone && inputDone && finished.compareAndSet(false, true)) {
            synchronized (out) {
                try {
                    out.onCompleted();
                } catch (RuntimeException ignored) {
                    // already closed by the other side
                }
            }
            closeSocket();
        }
    }

    /** Ends everything, telling the other agent why (with the migration and this link's peer). */
    protected final void fail(Exception e) {
        if (finished.compareAndSet(false, true)) {
            String why = "migration '" + migrationId + "', " + peer() + ": " + e.getMessage();
            log.warn("lazy relay failed: {}", why, e);
            synchronized (out) {
                try {
                    out.onNext(RelayFrame.newBuilder().setEnd(RelayEnd.newBuilder().setError(why)).build());
                    out.onCompleted();
                } catch (RuntimeException ignored) {
                    // the call is gone already
                }
            }
            closeSocket();
        }
    }

    /** Closes the socket and stops, whatever the state. */
    void closeAll() {
        if (finished.compareAndSet(false, true)) closeSocket();
    }

    /** Whether the link has ended (completed, failed or closed). */
    protected final boolean finished() {
        return finished.get();
    }

    private void closeSocket() {
        gate.close();
        release();
        Socket s = socket;
        if (s == null) return;
        try {
            s.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
    }
}
