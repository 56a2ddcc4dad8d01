package org.migrationmesh.agent.migration;

import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.transfer.ChunkCodec;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FailpointsTest {
    @Test
    void offWithoutASpec() {
        assertThat(Failpoints.parse(null).isEmpty()).isTrue();
        assertThat(Failpoints.parse(" ").fire("transfer.corrupt-chunk")).isFalse();
    }

    @Test
    void aCountFiresThatManyTimes() {
        Failpoints f = Failpoints.parse("transfer.corrupt-chunk=2, other=0");
        assertThat(f.fire("transfer.corrupt-chunk")).isTrue();
        assertThat(f.fire("other")).isFalse();
        assertThat(f.fire("transfer.corrupt-chunk")).isTrue();
        assertThat(f.fire("transfer.corrupt-chunk")).isFalse();
        assertThat(f.fire("unknown")).isFalse();
    }

    @Test
    void alwaysNeverRunsOut() {
        Failpoints f = Failpoints.parse("transfer.corrupt-chunk=always");
        for (int i = 0; i < 1000; i++) assertThat(f.fire("transfer.corrupt-chunk")).isTrue();
    }

    @Test
    void aMalformedSpecSaysWhichItem() {
        assertThatThrownBy(() -> Failpoints.parse("transfer.corrupt-chunk")).hasMessageContaining("transfer.corrupt-chunk");
        assertThatThrownBy(() -> Failpoints.parse("a=x")).isInstanceOf(NumberFormatException.class);
    }

    @Test
    void aFlippedChunkFailsItsCrc() {
        byte[] raw = new byte[8192];
        new Random(42).nextBytes(raw);
        Chunk c = Chunk.newBuilder().setOffset(0).setLength(raw.length).setCrc32C(ChunkCodec.crc32c(raw, 0, raw.length))
                .setPayload(ByteString.copyFrom(raw)).build();
        assertThat(ChunkCodec.decodePlain(c)).isEqualTo(raw);
        Chunk bad = ChunkCorruption.flipped(c);
        assertThat(bad.getPayload().size()).isEqualTo(raw.length);
        assertThatThrownBy(() -> ChunkCodec.decodePlain(bad)).isInstanceOf(ChunkCodec.BadChunkException.class)
                .hasMessageContaining("CRC32C");
    }
}
