package org.migrationmesh.agent.runtime;

import com.google.protobuf.CodedOutputStream;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.runtime.DumpStats;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;

/** CRIU's stats image: magics, a u32 length, a StatsEntry whose field 1 is the dump stats. */
class CriuStatsTest {
    @Test
    void readsDumpStatsFromAStatsImage() throws IOException {
        byte[] dump = message(out -> {
            out.writeUInt32(1, 1500);    // freezing_time
            out.writeUInt32(2, 210_000); // frozen_time
            out.writeUInt64(5, 102_400); // pages_scanned
            out.writeUInt64(7, 100_000); // pages_written
            out.writeUInt64(9, 0);       // pages_lazy
        });
        byte[] entry = message(out -> out.writeByteArray(1, dump));
        byte[] image = image(entry, true);

        DumpStats stats = CriuStats.parseDump(CriuStats.entryOf(image));
        assertThat(stats.getFreezingTimeUs()).isEqualTo(1500);
        assertThat(stats.getFrozenTimeUs()).isEqualTo(210_000);
        assertThat(stats.getPagesScanned()).isEqualTo(102_400);
        assertThat(stats.getPagesWritten()).isEqualTo(100_000);
        assertThat(CriuStats.parseDump(CriuStats.entryOf(image(entry, false))).getFrozenTimeUs()).isEqualTo(210_000);
    }

    @Test
    void somethingElseIsNotAStatsImage() {
        assertThat(CriuStats.entryOf(new byte[] {1, 2, 3})).isNull();
        assertThat(CriuStats.entryOf(ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(CriuStats.IMG_SERVICE_MAGIC).putInt(0x12345678).putInt(0).array())).isNull();
    }

    private interface Writer {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Writer w) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        w.write(out);
        out.flush();
        return bytes.toByteArray();
    }

    private static byte[] image(byte[] entry, boolean serviceMagic) {
        ByteBuffer b = ByteBuffer.allocate(12 + entry.length).order(ByteOrder.LITTLE_ENDIAN);
        if (serviceMagic) b.putInt(CriuStats.IMG_SERVICE_MAGIC);
        b.putInt(CriuStats.STATS_MAGIC).putInt(entry.length).put(entry);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }
}
