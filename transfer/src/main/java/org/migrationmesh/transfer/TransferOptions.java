package org.migrationmesh.transfer;

import java.time.Duration;

/**
 * How a round is sent.
 *
 * @param chunkBytes    decoded bytes per chunk (whole pages; at most {@link ChunkCodec#MAX_CHUNK_BYTES})
 * @param compress      try zstd per chunk, keeping it only where it pays off
 * @param deltas        skip pages the receiver already holds (false: send every non-zero page)
 * @param maxAttempts   attempts of the round; a broken stream resumes from the last verified chunk
 * @param callTimeout   deadline of each unary call (Begin, PlanPages) and of an upload's answer once all is sent
 */
public record TransferOptions(int chunkBytes, boolean compress, boolean deltas, int maxAttempts, Duration callTimeout) {
    public TransferOptions {
        if (chunkBytes <= 0 || chunkBytes % PageHash.PAGE_SIZE != 0 || chunkBytes > ChunkCodec.MAX_CHUNK_BYTES) {
            throw new IllegalArgumentException("chunkBytes " + chunkBytes + " must be whole pages up to " + ChunkCodec.MAX_CHUNK_BYTES);
        }
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts " + maxAttempts + " < 1");
    }

    /** 1 MiB chunks, compression and deltas on, 5 attempts, 30 s per call. */
    public static TransferOptions defaults() {
        return new TransferOptions(1 << 20, true, true, 5, Duration.ofSeconds(30));
    }

    public TransferOptions withCompress(boolean c) {
        return new TransferOptions(chunkBytes, c, deltas, maxAttempts, callTimeout);
    }

    public TransferOptions withDeltas(boolean d) {
        return new TransferOptions(chunkBytes, compress, d, maxAttempts, callTimeout);
    }

    public TransferOptions withMaxAttempts(int n) {
        return new TransferOptions(chunkBytes, compress, deltas, n, callTimeout);
    }
}
