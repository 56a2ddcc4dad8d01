package org.migrationmesh.transfer;

import org.migrationmesh.proto.transfer.Codec;

/**
 * Per file: try compression on every chunk while it pays off; after a chunk that did not
 * compress, try again only every {@value #PROBE_EVERY}th chunk, so incompressible data (most
 * process memory) costs little CPU. Pure.
 */
final class CompressionPolicy {
    static final int PROBE_EVERY = 16;
    private final boolean enabled;
    private int skipped;
    private boolean paying = true;

    CompressionPolicy(boolean enabled) {
        this.enabled = enabled;
    }

    boolean shouldTry() {
        if (!enabled) return false;
        if (paying) return true;
        if (++skipped >= PROBE_EVERY) {
            skipped = 0;
            return true;
        }
        return false;
    }

    void observe(ChunkCodec.Payload p, int rawBytes) {
        if (rawBytes == 0) return;
        if (p.codec() == Codec.CODEC_ZSTD) paying = true;
        else if (enabled && paying) paying = false;
    }
}
