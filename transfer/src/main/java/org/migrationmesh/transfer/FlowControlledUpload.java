package org.migrationmesh.transfer;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One client-streaming call (Upload, PutLivePages) driven from the sending thread with flow control: a chunk is written only
 * while the call {@code isReady()}; otherwise the thread waits for the onReady signal (and
 * checks readiness again, so a spurious onReady does no harm). The transport's window and the
 * stub's on-ready threshold decide how many bytes are in flight.
 */
final class FlowControlledUpload<T, R> implements AutoCloseable {
    private final Object lock = new Object();
    private ClientCallStreamObserver<T> call;
    private Throwable error;
    private R ack;
    private boolean done;

    /** Starts the call, e.g. {@code new FlowControlledUpload<>(stub::upload)}. */
    FlowControlledUpload(Function<StreamObserver<R>, StreamObserver<T>> start) {
        start.apply(new ClientResponseObserver<T, R>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<T> requestStream) {
                call = requestStream;
                requestStream.setOnReadyHandler(() -> {
                    synchronized (lock) {
                        lock.notifyAll();
                    }
                });
            }

            @Override
            public void onNext(R value) {
                synchronized (lock) {
                    ack = value;
                }
            }

            @Override
            public void onError(Throwable t) {
                synchronized (lock) {
                    error = t;
                    done = true;
                    lock.notifyAll();
                }
            }

            @Override
            public void onCompleted() {
                synchronized (lock) {
                    done = true;
                    lock.notifyAll();
                }
            }
        });
    }

    /** Sends a message once the call is ready; throws the call's failure if it has failed. */
    void send(T c) throws Throwable {
        synchronized (lock) {
            while (!call.isReady() && !done) lock.wait();
            if (error != null) throw error;
            if (done) throw new IllegalStateException("call ended before all messages were sent");
        }
        call.onNext(c);
    }

    /** Half-closes and waits for the receiver's acknowledgement. */
    R finish(long timeout, TimeUnit unit) throws Throwable {
        call.onCompleted();
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        synchronized (lock) {
            while (!done) {
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new java.util.concurrent.TimeoutException("no upload acknowledgement in " + timeout + " " + unit);
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            if (error != null) throw error;
            return ack;
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (done) return;
        }
        call.cancel("sender gave up", null);
    }
}
