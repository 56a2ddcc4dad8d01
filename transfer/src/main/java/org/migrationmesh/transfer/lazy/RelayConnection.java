package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;
import io.grpc.stub.CallStreamObserver;
import org.migrationmesh.proto.lazypages.RelayEnd;
import org.migrationmesh.proto.lazypages.RelayFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One TCP connection joined to one relay call, both ways: bytes read from the socket go out
 * as {@code data} frames (only while the call is ready), frames that arrive are written to
 * the socket. Either side's end closes that direction; an error closes both.
 */
final class RelayConnection implements RelayLink {
    private static final Logger log = LoggerFactory.getLogger(RelayConnection.class);
    static final int CHUNK = 64 * 1024;

    private final String migrationId;
    private final Socket socket;
    private final CallStreamObserver<RelayFrame> out;
    private final ReadyGate gate;
    private final AtomicBoolean finished = new AtomicBoolean();
    private final AtomicLong bytesIn = new AtomicLong();
    private final AtomicLong bytesOut = new AtomicLong();
    private volatile boolean outputDone;
    private volatile boolean inputDone;

    /** {@code gate} must have been made for {@code out} when its call started (gRPC's rule for onReady handlers). */
    RelayConnection(String migrationId, Socket socket, CallStreamObserver<RelayFrame> out, ReadyGate gate) {
        this.migrationId = migrationId;
        this.socket = socket;
        this.out = out;
        this.gate = gate;
    }

    /** Starts the thread that carries socket bytes into the call. */
    @Override
    public void start() {
        Thread t = new Thread(this::pumpSocketToCall, "lazy-relay-" + migrationId);
        t.setDaemon(true);
        t.start();
    }

    /** A frame from the other agent. */
    @Override
    public void onFrame(RelayFrame frame) {
        try {
            switch (frame.getKindCase()) {
                case DATA -> {
                    OutputStream os = socket.getOutputStream();
                    frame.getData().writeTo(os);
                    os.flush();
                    bytesIn.addAndGet(frame.getData().size());
                }
                case END -> {
                    if (!frame.getEnd().getError().isEmpty()) {
                        fail(new IOException("relay peer ended with: " + frame.getEnd().getError()));
                        return;
                    }
                    socket.shutdownOutput();
                    inputDone = true;
                    finishIfBothDone();
                }
                default -> fail(new IOException("unexpected relay frame " + frame.getKindCase()));
            }
        } catch (IOException e) {
            fail(e);
        }
    }

    /** The call failed or the other side went away: close everything. */
    @Override
    public void onCallError(Throwable t) {
        log.debug("lazy relay call ended migration={} cause={}", migrationId, t.toString());
        closeAll();
    }

    @Override
    public void onCallCompleted() {
        inputDone = true;
        finishIfBothDone();
    }

    @Override
    public long bytesFromPeer() {
        return bytesIn.get();
    }

    long bytesToPeer() {
        return bytesOut.get();
    }

    private void pumpSocketToCall() {
        byte[] buf = new byte[CHUNK];
        // Not try-with-resources: closing a socket's stream closes the socket, and the other
        // direction may still be carrying bytes after this one reached its end.
        try {
            InputStream in = socket.getInputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n == 0) continue;
                if (!gate.awaitReady()) return;
                synchronized (out) {
                    out.onNext(RelayFrame.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build());
                }
                bytesOut.addAndGet(n);
            }
            synchronized (out) {
                out.onNext(RelayFrame.newBuilder().setEnd(RelayEnd.getDefaultInstance()).build());
            }
            outputDone = true;
            finishIfBothDone();
        } catch (IOException e) {
            fail(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(new IOException("interrupted", e));
        } catch (RuntimeException e) {
            // the call was cancelled under us
            closeAll();
        }
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

    private void fail(Exception e) {
        if (finished.compareAndSet(false, true)) {
            log.debug("lazy relay failed migration={} cause={}", migrationId, e.toString());
            synchronized (out) {
                try {
                    out.onNext(RelayFrame.newBuilder().setEnd(RelayEnd.newBuilder().setError(String.valueOf(e.getMessage()))).build());
                    out.onCompleted();
                } catch (RuntimeException ignored) {
                    // the call is gone already
                }
            }
            closeSocket();
        }
    }

    @Override
    public void closeAll() {
        if (finished.compareAndSet(false, true)) {
            closeSocket();
        }
    }

    private void closeSocket() {
        gate.close();
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
    }
}
