package org.migrationmesh.agent.runtime;

import com.google.protobuf.CodedInputStream;
import org.migrationmesh.proto.runtime.DumpStats;
import org.migrationmesh.proto.runtime.RestoreStats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads CRIU's own statistics images ({@code stats-dump}, {@code stats-restore}) from a work
 * directory. The format is CRIU's image format: magic words, then a little-endian u32 length
 * and a protobuf {@code StatsEntry} (images/stats.proto: dump = 1, restore = 2).
 */
public final class CriuStats {
    static final int IMG_COMMON_MAGIC = 0x54564319;
    static final int IMG_SERVICE_MAGIC = 0x55105940;
    static final int STATS_MAGIC = 0x57093306;

    private CriuStats() {}

    /** The dump statistics in {@code workDir}, or the default (all zero) if CRIU wrote none. */
    public static DumpStats readDump(Path workDir) {
        byte[] entry = entry(workDir.resolve("stats-dump"));
        return entry == null ? DumpStats.getDefaultInstance() : parseDump(entry);
    }

    public static RestoreStats readRestore(Path workDir) {
        byte[] entry = entry(workDir.resolve("stats-restore"));
        return entry == null ? RestoreStats.getDefaultInstance() : parseRestore(entry);
    }

    /** The StatsEntry message bytes of a stats image, or null if absent or not a stats image. */
    static byte[] entry(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            return entryOf(Files.readAllBytes(file));
        } catch (IOException e) {
            return null;
        }
    }

    static byte[] entryOf(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 8) return null;
        int magic = b.getInt();
        if (magic == IMG_SERVICE_MAGIC || magic == IMG_COMMON_MAGIC) magic = b.getInt();
        if (magic != STATS_MAGIC || b.remaining() < 4) return null;
        int len = b.getInt();
        if (len < 0 || len > b.remaining()) return null;
        byte[] entry = new byte[len];
        b.get(entry);
        return entry;
    }

    static DumpStats parseDump(byte[] statsEntry) {
        byte[] dump = field(statsEntry, 1);
        DumpStats.Builder s = DumpStats.newBuilder();
        if (dump == null) return s.build();
        forEachVarint(dump, (field, value) -> {
            switch (field) {
                case 1 -> s.setFreezingTimeUs(value);
                case 2 -> s.setFrozenTimeUs(value);
                case 3 -> s.setMemdumpTimeUs(value);
                case 4 -> s.setMemwriteTimeUs(value);
                case 5 -> s.setPagesScanned(value);
                case 6 -> s.setPagesSkippedParent(value);
                case 7 -> s.setPagesWritten(value);
                case 9 -> s.setPagesLazy(value);
                default -> { }
            }
        });
        return s.build();
    }

    static RestoreStats parseRestore(byte[] statsEntry) {
        byte[] restore = field(statsEntry, 2);
        RestoreStats.Builder s = RestoreStats.newBuilder();
        if (restore == null) return s.build();
        forEachVarint(restore, (field, value) -> {
            switch (field) {
                case 1 -> s.setPagesCompared(value);
                case 2 -> s.setPagesSkippedCow(value);
                case 3 -> s.setForkingTimeUs(value);
                case 4 -> s.setRestoreTimeUs(value);
                case 5 -> s.setPagesRestored(value);
                default -> { }
            }
        });
        return s.build();
    }

    private interface VarintField {
        void accept(int field, long value);
    }

    /** The bytes of the first length-delimited field {@code number}, or null. */
    private static byte[] field(byte[] message, int number) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(message);
            int tag;
            while ((tag = in.readTag()) != 0) {
                if (tag >>> 3 == number && (tag & 7) == 2) return in.readByteArray();
                in.skipField(tag);
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    private static void forEachVarint(byte[] message, VarintField sink) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(message);
            int tag;
            while ((tag = in.readTag()) != 0) {
                if ((tag & 7) == 0) sink.accept(tag >>> 3, in.readUInt64());
                else in.skipField(tag);
            }
        } catch (IOException e) {
            // a truncated stats image: keep what was read
        }
    }
}
