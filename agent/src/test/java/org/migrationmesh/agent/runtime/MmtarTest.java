package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * mmtar (agent/src/main/c/mmtar.c), run as CRIU runs tar for a tmpfs mount: the archive comes
 * out without gzip, and both such archives and gzip ones (images dumped without mmtar) extract.
 */
class MmtarTest {
    @TempDir
    Path tmp;

    @Test
    void archivesWithoutGzipWhatCriuAsksToGzip() throws Exception {
        Path tar = Workloads.extract("mmtar", tmp.resolve("bin").resolve("tar"));
        Path dir = sampleTree();
        Path archive = tmp.resolve("tmpfs-dev-1.tar.gz.img");
        run(List.of(tar.toString(), "--create", "--gzip", "--no-unquote", "--no-wildcards", "--one-file-system",
                "--check-links", "--preserve-permissions", "--sparse", "--numeric-owner", "--directory", dir.toString(), "."),
                null, archive);
        assertThat(isPlainTar(archive)).as("a plain tar archive").isTrue();

        Path out = Files.createDirectories(tmp.resolve("out"));
        run(List.of(tar.toString(), "--extract", "--gzip", "--no-unquote", "--no-wildcards", "--directory", out.toString()),
                archive, null);
        assertSameContent(dir, out);
    }

    @Test
    void extractsAGzipArchiveAsBefore() throws Exception {
        Path tar = Workloads.extract("mmtar", tmp.resolve("bin").resolve("tar"));
        Path dir = sampleTree();
        Path archive = tmp.resolve("tmpfs-dev-2.tar.gz.img");
        run(List.of("tar", "--create", "--gzip", "--directory", dir.toString(), "."), null, archive); // the system's tar
        assertThat(isPlainTar(archive)).isFalse();

        Path out = Files.createDirectories(tmp.resolve("out"));
        run(List.of(tar.toString(), "--extract", "--gzip", "--no-unquote", "--no-wildcards", "--directory", out.toString()),
                archive, null);
        assertSameContent(dir, out);
    }

    /** Whether {@code f} is a tar archive as it stands (POSIX "ustar" magic), not compressed. */
    static boolean isPlainTar(Path f) throws IOException {
        byte[] head = new byte[262];
        try (InputStream in = Files.newInputStream(f)) {
            if (in.readNBytes(head, 0, head.length) < head.length) return false;
        }
        return new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
    }

    private Path sampleTree() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("tmpfs"));
        Files.writeString(dir.resolve("games.log"), "a line\n".repeat(100));
        Files.createDirectories(dir.resolve("oa/baseoa"));
        Files.writeString(dir.resolve("oa/baseoa/q3config.cfg"), "seta sv_hostname mm\n");
        Files.createSymbolicLink(dir.resolve("fd"), Path.of("/proc/self/fd"));
        return dir;
    }

    private static void assertSameContent(Path a, Path b) throws IOException {
        assertThat(Files.readString(b.resolve("games.log"))).isEqualTo(Files.readString(a.resolve("games.log")));
        assertThat(Files.readString(b.resolve("oa/baseoa/q3config.cfg"))).isEqualTo(Files.readString(a.resolve("oa/baseoa/q3config.cfg")));
        assertThat(Files.readSymbolicLink(b.resolve("fd"))).isEqualTo(Path.of("/proc/self/fd"));
    }

    /** Runs {@code argv} with stdin from {@code in} and stdout to {@code out} (null: none); fails unless it exits 0. */
    private static void run(List<String> argv, Path in, Path out) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(argv)).redirectErrorStream(out == null);
        pb.redirectInput(in != null ? ProcessBuilder.Redirect.from(in.toFile()) : ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        if (out != null) pb.redirectOutput(out.toFile());
        Process p = pb.start();
        byte[] err = out != null ? p.getErrorStream().readAllBytes() : p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", argv) + ": " + new String(err, StandardCharsets.UTF_8)).isZero();
    }
}
