package org.migrationmesh.agent.migration;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code transfer.corrupt-chunk} failpoint: corruption in transit. Outgoing image chunks
 * pass through it after the sender computed their CRC; when the point fires, one byte in the
 * middle of a chunk's payload is flipped, and the receiver must notice.
 */
final class ChunkCorruption implements ClientInterceptor {
    static final String POINT = "transfer.corrupt-chunk";
    private static final Logger log = LoggerFactory.getLogger(ChunkCorruption.class);
    private final Failpoints failpoints;

    private ChunkCorruption(Failpoints failpoints) {
        this.failpoints = failpoints;
    }

    /** {@code channel} as is when no failpoint is set, else with chunks passing through the corruption. */
    static Channel around(Channel channel, Failpoints failpoints) {
        return failpoints.isEmpty() ? channel : ClientInterceptors.intercept(channel, new ChunkCorruption(failpoints));
    }

    /** {@code c} with one payload byte flipped. Pure. */
    static Chunk flipped(Chunk c) {
        byte[] payload = c.getPayload().toByteArray();
        payload[payload.length / 2] ^= 0x5a;
        return c.toBuilder().setPayload(ByteString.copyFrom(payload)).build();
    }

    @Override
    public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        ClientCall<Q, A> call = next.newCall(method, options);
        String name = method.getFullMethodName();
        if (!name.equals(ImageTransferGrpc.getUploadMethod().getFullMethodName())
                && !name.equals(ImageTransferGrpc.getBeginMethod().getFullMethodName())) {
            return call;
        }
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
            @Override
            @SuppressWarnings("unchecked")
            public void sendMessage(Q message) {
                if (message instanceof Chunk c && !c.getPayload().isEmpty() && failpoints.fire(POINT)) {
                    message = (Q) flippedLogged(c);
                } else if (message instanceof BeginRequest b) {
                    message = (Q) withFlipped(b);
                }
                super.sendMessage(message);
            }
        };
    }

    /** A Begin whose first speculative chunk with a payload is flipped, if the point fires for it (the upload riding along). */
    private BeginRequest withFlipped(BeginRequest b) {
        for (int k = 0; k < b.getSpeculativeChunksCount(); k++) {
            Chunk c = b.getSpeculativeChunks(k);
            if (c.getPayload().isEmpty()) continue;
            return failpoints.fire(POINT) ? b.toBuilder().setSpeculativeChunks(k, flippedLogged(c)).build() : b;
        }
        return b;
    }

    private static Chunk flippedLogged(Chunk c) {
        log.warn("failpoint {}: flipping a byte of chunk migration={} file={} offset={}", POINT, c.getMigrationId(),
                c.getFileIndex(), c.getOffset());
        return flipped(c);
    }
}
