package org.migrationmesh.transfer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Inserts ranges into files and collapses ranges out of them, the data after moving up or down,
 * as fallocate(2) does with FALLOC_FL_INSERT_RANGE and FALLOC_FL_COLLAPSE_RANGE: the file system
 * moves extents, so the cost does not grow with the data moved. Java has no call for it, so it
 * runs util-linux's {@code fallocate} (a few milliseconds each). ext4 and xfs can, with offsets
 * and lengths in whole blocks; tmpfs and others cannot, which {@link #supported} finds out once
 * per file system.
 */
final class FileRanges {
    private static final Map<FileStore, Boolean> SUPPORTED = new ConcurrentHashMap<>();

    private FileRanges() {
    }

    /** Whether files in {@code dir} can have 4 KiB ranges inserted and collapsed (tried once per file system). */
    static boolean supported(Path dir) {
        FileStore fs;
        try {
            fs = Files.getFileStore(dir);
        } catch (IOException e) {
            return false;
        }
        return SUPPORTED.computeIfAbsent(fs, f -> tryOn(dir));
    }

    private static boolean tryOn(Path dir) {
        Path probe = dir.resolve(".range-edits-probe");
        try {
            byte[] three = new byte[3 * PageHash.PAGE_SIZE];
            three[PageHash.PAGE_SIZE] = 1;
            Files.write(probe, three);
            collapse(probe, 0, PageHash.PAGE_SIZE);
            insert(probe, 0, PageHash.PAGE_SIZE);
            byte[] after = Files.readAllBytes(probe);
            return after.length == three.length && after[PageHash.PAGE_SIZE] == 1 && after[0] == 0;
        } catch (IOException e) {
            return false;
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // a probe left behind is overwritten by the next
            }
        }
    }

    /** Inserts {@code length} bytes (zeros, a hole) at {@code offset} of {@code file}, moving what follows up. */
    static void insert(Path file, long offset, long length) throws IOException {
        fallocate(file, "--insert-range", offset, length);
    }

    /** Removes bytes {@code [offset, offset + length)} of {@code file}, which must not reach its end, moving what follows down. */
    static void collapse(Path file, long offset, long length) throws IOException {
        fallocate(file, "--collapse-range", offset, length);
    }

    private static void fallocate(Path file, String mode, long offset, long length) throws IOException {
        List<String> cmd = List.of("fallocate", mode, "--offset", Long.toString(offset), "--length", Long.toString(length),
                file.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": no answer in 10 s");
            }
            if (p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + ": interrupted", e);
        }
    }
}
