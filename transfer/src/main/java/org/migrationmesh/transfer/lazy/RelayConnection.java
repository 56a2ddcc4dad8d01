package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;
import io.grpc.stub.CallStreamObserver;
import org.migrationmesh.proto.lazypages.RelayEnd;
import org.migrationmesh.proto.lazypages.RelayFrame;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One TCP connection joined to one relay call, both ways: bytes read from the socket go out
 * as {@code data} frames (only while the call is ready), frames that arrive are written to
 * the socket. Either side's end closes that direction; an error closes both.
 */
final class RelayConnection extends RelayLink {
    static final int CHUNK = 64 * 1024;

    private final AtomicLong bytesOut = new AtomicLong();

    /** {@code gate} must have been made for {@code out} when its call started (gRPC's rule for onReady handlers). */
    RelayConnection(String migrationId, Socket socket, CallStreamObserver<RelayFrame> out, ReadyGate gate) {
        super(migrationId, socket, out, gate);
    }

    /** Starts the thread that carries socket bytes into the call. */
    @Override
    void start() {
        Thread t = new Thread(this::pumpSocketToCall, "lazy-relay-" + migrationId);
        t.setDaemon(true);
        t.start();
    }

    /** A frame from the other agent. */
    @Override
    void onFrame(RelayFrame frame) {
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
                    inputEnded();
                }
                default -> fail(new IOException("unexpected relay frame " + frame.getKindCase()));
            }
        } catch (IOException e) {
            fail(e);
        }
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
            outputEnded();
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

    @Override
    String peer() {
        return "page server or lazy-pages daemon " + socket.getRemoteSocketAddress();
    }
}
