package org.migrationmesh.transfer;

import io.grpc.ClientInterceptors;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.BeginResponse;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.UploadAck;

import java.nio.file.Path;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sender talking to a receiver from before Begin carried plans and uploads ended with the
 * commit (one that ignores those fields, as protobuf does with fields it does not know) sends
 * the long way and the round is published whole.
 */
class ReceiverFromBeforeTest {
    @TempDir
    Path tmp;

    @Test
    void aReceiverThatIgnoresWhatRidesAlongIsSentTheLongWay() throws Exception {
        Path src = FinalRoundTripsTest.twoProcessImage(tmp.resolve("src"), 51);
        String name = "before-" + UUID.randomUUID();
        try (ImageReceiver receiver = new ImageReceiver(tmp.resolve("receiver"))) {
            Server server = InProcessServerBuilder.forName(name).addService(ServerInterceptors.intercept(receiver, new FromBefore()))
                    .build().start();
            ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
            try {
                RoundTripCounter counter = new RoundTripCounter();
                ImageSender sender = new ImageSender(ClientInterceptors.intercept(channel, counter), Clock.systemUTC());
                String migration = "m-" + UUID.randomUUID();
                TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
                TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
                assertThat(r.pagesSent()).isPositive();
                // Begin, pagemaps uploaded, PlanPages of each pages file, pages uploaded, Commit
                assertThat(counter.roundTrips()).isEqualTo(6);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /** Drops the fields a receiver from before does not know, both ways. */
    private static final class FromBefore implements ServerInterceptor {
        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            ServerCall<Q, A> answers = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                @Override
                @SuppressWarnings("unchecked")
                public void sendMessage(A message) {
                    if (message instanceof BeginResponse b) {
                        message = (A) b.toBuilder().clearPlans().clearPublished().clearOneUpload().build();
                    } else if (message instanceof UploadAck a) {
                        message = (A) a.toBuilder().clearCommitted().build();
                    }
                    super.sendMessage(message);
                }
            };
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(answers, headers)) {
                @Override
                @SuppressWarnings("unchecked")
                public void onMessage(Q message) {
                    if (message instanceof BeginRequest b) {
                        message = (Q) b.toBuilder().clearChunks().clearPageDigests().clearSendId().build();
                    } else if (message instanceof Chunk c) {
                        message = (Q) c.toBuilder().clearCommit().build();
                    }
                    super.onMessage(message);
                }
            };
        }
    }
}
