package org.migrationmesh.transfer;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the sequential network round trips a client's calls take, by causality rather than by
 * time: every message (call start, request, half-close) the client sends is at the depth of the
 * deepest answer it has seen so far, and an answer (response message or close) of a call is one
 * round trip deeper than the deepest thing sent on that call before it. The depth of the deepest
 * answer is the number of round trips the client waited for one after the other.
 *
 * <p>Flow control is not counted: on a real link the HTTP/2 window (1 MiB and up) carries a
 * small upload without waiting, and a large one is bound by bandwidth, not round trips.
 */
final class RoundTripCounter implements ClientInterceptor {
    private final AtomicInteger seen = new AtomicInteger();

    /** Round trips so far (the depth of the deepest answer seen). */
    int roundTrips() {
        return seen.get();
    }

    void reset() {
        seen.set(0);
    }

    @Override
    public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            private final AtomicInteger sent = new AtomicInteger();

            private void sending() {
                sent.accumulateAndGet(seen.get(), Math::max);
            }

            private void answered() {
                seen.accumulateAndGet(sent.get() + 1, Math::max);
            }

            @Override
            public void start(Listener<A> listener, Metadata headers) {
                sending();
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onMessage(A message) {
                        answered();
                        super.onMessage(message);
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        answered();
                        super.onClose(status, trailers);
                    }
                }, headers);
            }

            @Override
            public void sendMessage(Q message) {
                sending();
                super.sendMessage(message);
            }

            @Override
            public void halfClose() {
                sending();
                super.halfClose();
            }
        };
    }
}
