package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.migrationmesh.proto.transfer.UploadAck;
import org.migrationmesh.rpc.RpcEndpoints;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A receiver behind a gRPC server (in-process or loopback TCP) and a sender to it. */
final class TransferHarness implements AutoCloseable {
    final Path receiverRoot;
    final ImageReceiver receiver;
    final Server server;
    final ManagedChannel channel;
    /** Upload messages still to pass before the harness breaks the stream once; negative = never. */
    final AtomicInteger breakAfterChunks = new AtomicInteger(-1);
    /**
     * Rewrites the stream of page chunks (chunks with page ops): given the n-th page chunk, what
     * to send instead (a changed chunk, nothing, or several). Null: send as is.
     */
    volatile java.util.function.BiFunction<Integer, Chunk, List<Chunk>> tamperPageChunks;
    private final AtomicInteger pageChunks = new AtomicInteger();

    private TransferHarness(Path receiverRoot, boolean tcp) throws IOException {
        this.receiverRoot = receiverRoot;
        this.receiver = new ImageReceiver(receiverRoot);
        if (tcp) {
            server = RpcEndpoints.startServer("127.0.0.1", 0, List.of(receiver));
            channel = RpcEndpoints.channel("127.0.0.1:" + server.getPort());
        } else {
            String name = "transfer-" + UUID.randomUUID();
            server = InProcessServerBuilder.forName(name).addService(receiver).build().start();
            channel = InProcessChannelBuilder.forName(name).maxInboundMessageSize(RpcEndpoints.MAX_MESSAGE_BYTES).build();
        }
    }

    static TransferHarness inProcess(Path receiverRoot) throws IOException {
        return new TransferHarness(receiverRoot, false);
    }

    static TransferHarness loopback(Path receiverRoot) throws IOException {
        return new TransferHarness(receiverRoot, true);
    }

    /** A sender whose Upload streams break (client cancel) once {@link #breakAfterChunks} runs out. */
    ImageSender sender() {
        Channel ch = ClientInterceptors.intercept(channel, new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                ClientCall<Q, R> call = next.newCall(method, options);
                if (!method.equals(ImageTransferGrpc.getUploadMethod())) return call;
                return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                    private boolean broken;

                    @Override
                    @SuppressWarnings("unchecked")
                    public void sendMessage(Q message) {
                        if (broken) return;
                        var tamper = tamperPageChunks;
                        if (tamper != null && ((Chunk) message).getPageOps().size() > 0) {
                            for (Chunk c : tamper.apply(pageChunks.getAndIncrement(), (Chunk) message)) {
                                super.sendMessage((Q) c);
                            }
                            return;
                        }
                        super.sendMessage(message);
                        if (breakAfterChunks.get() >= 0 && breakAfterChunks.getAndDecrement() == 0) {
                            broken = true;
                            cancel("test breaks the stream", null);
                        }
                    }

                    @Override
                    public void halfClose() {
                        if (!broken) super.halfClose();
                    }
                };
            }
        });
        return new ImageSender(ch, Clock.systemUTC());
    }

    ImageTransferGrpc.ImageTransferBlockingStub blocking() {
        return ImageTransferGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** Sends hand-made chunks in one Upload call; returns how it ended (ack, or the error). */
    CompletableFuture<UploadAck> upload(List<Chunk> chunks) {
        CompletableFuture<UploadAck> result = new CompletableFuture<>();
        StreamObserver<Chunk> req = ImageTransferGrpc.newStub(channel).upload(new StreamObserver<>() {
            @Override
            public void onNext(UploadAck value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                result.complete(null);
            }
        });
        chunks.forEach(req::onNext);
        req.onCompleted();
        return result;
    }

    /** A plain chunk of {@code bytes} for file {@code index} at {@code offset} in an attempt, with a right CRC. */
    static Chunk plainChunk(String migration, int round, long attempt, int index, long offset, byte[] bytes) {
        return Chunk.newBuilder().setMigrationId(migration).setRound(round).setAttempt(attempt).setFileIndex(index).setOffset(offset)
                .setLength(bytes.length).setPayload(ByteString.copyFrom(bytes))
                .setCrc32C(ChunkCodec.crc32c(bytes, 0, bytes.length)).build();
    }

    static void assertSameTree(Path expected, Path actual) throws IOException {
        List<String> names;
        try (var s = Files.list(expected)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        List<String> got;
        try (var s = Files.list(actual)) {
            got = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        org.assertj.core.api.Assertions.assertThat(got).isEqualTo(names);
        for (String n : names) {
            long mismatch = Files.mismatch(expected.resolve(n), actual.resolve(n));
            org.assertj.core.api.Assertions.assertThat(mismatch).as("first differing byte of %s", n).isEqualTo(-1L);
        }
    }

    @Override
    public void close() {
        try {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            receiver.close();
        }
    }
}
