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
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * mmtar (agent/src/main/c/mmtar.c), run as CRIU runs tar for a tmpfs mount: it writes and reads
 * the archives itself (MMTAR_TAR=/bin/false makes any hand-over to the system's tar fail), as
 * plain POSIX ustar that GNU tar reads back to the same tree, and reads GNU tar's; anything else
 * (a gzip archive of an image dumped without it, a hard link) still goes through the system's tar.
 */
class MmtarTest {
    private static final List<String> CREATE = List.of("--create", "--gzip", "--no-unquote", "--no-wildcards",
            "--one-file-system", "--check-links", "--preserve-permissions", "--sparse", "--numeric-owner", "--directory");
    private static final List<String> EXTRACT = List.of("--extract", "--gzip", "--no-unquote", "--no-wildcards", "--directory");
    /** Any hand-over to the system's tar fails with this. */
    private static final Map<String, String> NATIVE_ONLY = Map.of("MMTAR_TAR", "/bin/false");

    @TempDir
    Path tmp;

    @Test
    void archivesATmpfsTreeItselfAndGnuTarReadsItBackTheSame() throws Exception {
        Path dir = sampleTree();
        Path archive = tmp.resolve("tmpfs-dev-1.tar.gz.img");
        run(argv(mmtar(), CREATE, dir.toString(), "."), NATIVE_ONLY, null, archive);
        assertThat(isPlainTar(archive)).as("a plain tar archive").isTrue();
        assertThat(magic(archive)).as("POSIX ustar, written by mmtar, not GNU tar").isEqualTo("ustar\u000000");

        Path out = Files.createDirectories(tmp.resolve("out"));
        run(List.of("tar", "--extract", "--no-unquote", "--no-wildcards", "--directory", out.toString()), Map.of(), archive, null);
        assertThat(tree(out)).isEqualTo(tree(dir));
    }

    @Test
    void extractsGnuTarsArchiveItself() throws Exception {
        Path dir = sampleTree();
        Path archive = tmp.resolve("tmpfs-dev-2.tar.gz.img");
        List<String> gnuCreate = new ArrayList<>(CREATE);
        gnuCreate.remove("--gzip");
        run(argv("tar", gnuCreate, dir.toString(), "."), Map.of(), null, archive); // the system's tar, as CRIU with mmtar before
        Path out = Files.createDirectories(tmp.resolve("out"));
        run(argv(mmtar(), EXTRACT, out.toString()), NATIVE_ONLY, archive, null);
        assertThat(tree(out)).isEqualTo(tree(dir));
    }

    @Test
    void readsBackWhatItWrote() throws Exception {
        Path dir = sampleTree();
        Path archive = tmp.resolve("tmpfs-dev-3.tar.gz.img");
        run(argv(mmtar(), CREATE, dir.toString(), "."), NATIVE_ONLY, null, archive);
        Path out = Files.createDirectories(tmp.resolve("out"));
        run(argv(mmtar(), EXTRACT, out.toString()), NATIVE_ONLY, archive, null);
        assertThat(tree(out)).isEqualTo(tree(dir));
    }

    @Test
    void extractsAGzipArchiveAsBefore() throws Exception {
        Path dir = sampleTree();
        Path archive = tmp.resolve("tmpfs-dev-4.tar.gz.img");
        run(List.of("tar", "--create", "--gzip", "--numeric-owner", "--directory", dir.toString(), "."), Map.of(), null,
                archive); // an image dumped without mmtar
        assertThat(isPlainTar(archive)).isFalse();
        Path out = Files.createDirectories(tmp.resolve("out"));
        run(argv(mmtar(), EXTRACT, out.toString()), Map.of(), archive, null);
        assertThat(tree(out)).isEqualTo(tree(dir));
    }

    @Test
    void handsAHardLinkToTheSystemsTar() throws Exception {
        Path dir = sampleTree();
        Files.createLink(dir.resolve("games-again.log"), dir.resolve("games.log"));
        run(List.of("touch", "-d", "@1764500000", dir.toString()), Map.of(), null, null); // the link changed its time
        Path archive = tmp.resolve("tmpfs-dev-5.tar.gz.img");
        Process handedOver = start(argv(mmtar(), CREATE, dir.toString(), "."), NATIVE_ONLY, null, archive);
        assertThat(handedOver.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(handedOver.exitValue()).as("went to MMTAR_TAR (/bin/false)").isNotZero();

        run(argv(mmtar(), CREATE, dir.toString(), "."), Map.of(), null, archive);
        assertThat(magic(archive)).as("GNU tar's archive").isEqualTo("ustar  \u0000");
        Path out = Files.createDirectories(tmp.resolve("out"));
        run(argv(mmtar(), EXTRACT, out.toString()), Map.of(), archive, null);
        assertThat(tree(out)).isEqualTo(tree(dir));
        assertThat(Files.isSameFile(out.resolve("games.log"), out.resolve("games-again.log"))).isTrue();
    }

    /** Whether {@code f} is a tar archive as it stands (the "ustar" magic), not compressed. */
    static boolean isPlainTar(Path f) throws IOException {
        return magic(f).startsWith("ustar");
    }

    private static String magic(Path f) throws IOException {
        byte[] head = new byte[265];
        try (InputStream in = Files.newInputStream(f)) {
            if (in.readNBytes(head, 0, head.length) < head.length) return "";
        }
        return new String(head, 257, 8, StandardCharsets.ISO_8859_1);
    }

    private Path mmtar() throws IOException {
        Path bin = tmp.resolve("bin").resolve("tar");
        return Files.exists(bin) ? bin : Workloads.extract("mmtar", bin);
    }

    /** {@link TmpfsSamples#plainTree} with what /dev holds besides: a FIFO and a character device. */
    private Path sampleTree() throws Exception {
        Path dir = TmpfsSamples.plainTree(tmp.resolve("tmpfs"));
        run(List.of("mkfifo", "-m", "0640", dir.resolve("initctl").toString()), Map.of(), null, null);
        run(List.of("mknod", "-m", "0666", dir.resolve("null").toString(), "c", "1", "3"), Map.of(), null, null);
        TmpfsSamples.stamp(dir);
        return dir;
    }

    private static Map<String, String> tree(Path root) throws IOException {
        return TmpfsSamples.tree(root);
    }

    private static List<String> argv(Object program, List<String> options, String... rest) {
        List<String> argv = new ArrayList<>();
        argv.add(program.toString());
        argv.addAll(options);
        argv.addAll(List.of(rest));
        return argv;
    }

    private static Process start(List<String> argv, Map<String, String> env, Path in, Path out) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(argv)).redirectErrorStream(out == null);
        pb.environment().putAll(env);
        pb.redirectInput(in != null ? ProcessBuilder.Redirect.from(in.toFile()) : ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        if (out != null) pb.redirectOutput(out.toFile());
        return pb.start();
    }

    /** Runs {@code argv} with stdin from {@code in} and stdout to {@code out} (null: none); fails unless it exits 0. */
    private static void run(List<String> argv, Map<String, String> env, Path in, Path out) throws Exception {
        Process p = start(argv, env, in, out);
        byte[] err = out != null ? p.getErrorStream().readAllBytes() : p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", argv) + ": " + new String(err, StandardCharsets.UTF_8)).isZero();
    }
}
