package org.migrationmesh.transfer.lazy;

import io.grpc.stub.CallStreamObserver;

/**
 * Lets one thread write to a gRPC stream only while it {@code isReady()}, waiting for the
 * onReady signal otherwise (and checking again, so a spurious onReady does no harm).
 */
final class ReadyGate {
    private final Object lock = new Object();
    private final CallStreamObserver<?> stream;
    private boolean closed;

    ReadyGate(CallStreamObserver<?> stream) {
        this.stream = stream;
        stream.setOnReadyHandler(this::signal);
    }

    /** Waits until the stream takes more; false if the gate was closed meanwhile. */
    boolean awaitReady() throws InterruptedException {
        synchronized (lock) {
            while (!closed && !stream.isReady()) lock.wait(1000);
            return !closed;
        }
    }

    void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
    }

    private void signal() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }
}
