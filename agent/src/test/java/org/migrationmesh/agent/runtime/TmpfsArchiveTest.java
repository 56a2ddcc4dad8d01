package org.migrationmesh.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The archive of a tmpfs tree written and read without a process ({@link TmpfsArchive},
 * {@link TmpfsTree}) is mmtar's, byte for byte, reads back into the same tree, and anything else
 * is left to mmtar; a bundle binds its tmpfs mounts from the host's directory when it has one
 * ({@link BundleWriter}).
 */
class TmpfsArchiveTest {
    @TempDir
    Path tmp;

    @Test
    void theArchiveOfAnEmptyDirectoryIsMmtarsByteForByte() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        Files.setAttribute(dir, "unix:mode", 01777);
        Files.setLastModifiedTime(dir, FileTime.from(Instant.ofEpochSecond(1_796_400_000L)));
        byte[] mmtars = create(dir);

        assertThat(TmpfsTree.list(dir).flatMap(TmpfsArchive::write)).contains(mmtars);
        List<TmpfsArchive.Member> members = TmpfsArchive.read(mmtars).orElseThrow();
        assertThat(members).hasSize(1);
        assertThat(members.get(0).path()).isEqualTo("./");
        assertThat(members.get(0).mode()).isEqualTo(01777);
        assertThat(members.get(0).mtimeSeconds()).isEqualTo(1_796_400_000L);
    }

    @Test
    void aTreeOfDirectoriesFilesAndLinksIsArchivedAsMmtarDoesAndReadBackTheSame() throws Exception {
        Path dir = sampleTree();
        byte[] mmtars = create(dir);
        assertThat(TmpfsTree.list(dir).flatMap(TmpfsArchive::write)).as("mmtar's archive, byte for byte").contains(mmtars);

        Path out = Files.createDirectories(tmp.resolve("out"));
        TmpfsTree.extract(TmpfsArchive.read(mmtars).orElseThrow(), out);
        assertThat(tree(out)).isEqualTo(tree(dir));
    }

    @Test
    void theWarmUpRunsWithoutLeavingAnythingBehind() throws Exception {
        Path dir = tmp.resolve("warm-up");
        Files.createDirectories(dir.resolve("out-0")); // as an agent killed while warming up leaves it
        TmpfsTree.warmUp(dir, 3);
        assertThat(dir).doesNotExist();
    }

    @Test
    void whatUstarOrThisClassCannotSayIsLeftToMmtar() throws Exception {
        Path fifo = Files.createDirectories(tmp.resolve("fifo"));
        Process p = new ProcessBuilder("mkfifo", fifo.resolve("initctl").toString()).start();
        assertThat(p.waitFor()).isZero();
        assertThat(TmpfsTree.list(fifo)).as("a FIFO").isEmpty();
        assertThat(TmpfsArchive.read(create(fifo))).as("mmtar's archive of a FIFO").isEmpty();

        Path linked = Files.createDirectories(tmp.resolve("linked"));
        Files.writeString(linked.resolve("a"), "x");
        Files.createLink(linked.resolve("b"), linked.resolve("a"));
        assertThat(TmpfsTree.list(linked)).as("a hard link").isEmpty();

        Path big = Files.createDirectories(tmp.resolve("big"));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.resolve("huge.bin").toFile(), "rw")) {
            f.setLength(TmpfsTree.MOST_BYTES + 1); // sparse: counted by its size, never read
        }
        assertThat(TmpfsTree.list(big)).as("more content than an archive in memory holds").isEmpty();

        TmpfsArchive.Member top = TmpfsArchive.Member.directory("./", 0755, 0, 0, 1);
        assertThat(TmpfsArchive.write(List.of(top, new TmpfsArchive.Member("./../up", '0', 0644, 0, 0, 1, new byte[1], null))))
                .as("a path out of the tree").isEmpty();
        assertThat(TmpfsArchive.write(List.of(top, new TmpfsArchive.Member("./" + "n".repeat(101), '0', 0644, 0, 0, 1, null, null))))
                .as("a name of 101 bytes").isEmpty();
        byte[] throughALink = TmpfsArchive.write(List.of(top, new TmpfsArchive.Member("./etc", '2', 0777, 0, 0, 1, null, "/etc"),
                new TmpfsArchive.Member("./etc/passwd", '0', 0644, 0, 0, 1, "x".getBytes(), null))).orElseThrow();
        assertThat(TmpfsArchive.read(throughALink)).as("a file below a link of the archive").isEmpty();
        byte[] good = TmpfsArchive.write(List.of(top, new TmpfsArchive.Member("./f", '0', 0644, 0, 0, 1, "data".getBytes(), null)))
                .orElseThrow();
        assertThat(TmpfsArchive.read(good)).isPresent();
        byte[] bad = good.clone();
        bad[512 + 512] ^= 1; // the file's content: no header checks it
        assertThat(TmpfsArchive.read(bad)).isPresent();
        bad = good.clone();
        bad[512 + 100] ^= 1; // the file's mode: its header's checksum no longer holds
        assertThat(TmpfsArchive.read(bad)).isEmpty();
        assertThat(TmpfsArchive.read(java.util.Arrays.copyOf(good, 512 * 3))).as("cut short").isEmpty();
    }

    @Test
    void aBundleWithATmpfsDirectoryBindsItsTmpfsMountsFromThere() {
        BundleSpec plain = BundleSpec.of(List.of("/bin/x"), null, "/mm/c");
        JsonNode own = BundleWriter.config(plain).get("mounts");
        JsonNode bound = BundleWriter.config(plain.withTmpfsDir(Path.of("/run/mm/tmpfs/c"))).get("mounts");
        assertThat(own.size()).isEqualTo(bound.size());
        for (int i = 0; i < own.size(); i++) {
            String dest = own.get(i).get("destination").asText();
            assertThat(bound.get(i).get("destination").asText()).isEqualTo(dest); // same order: /dev/shm under /dev
            if (dest.equals("/tmp") || dest.equals("/dev/shm")) {
                assertThat(own.get(i).get("type").asText()).isEqualTo("tmpfs");
                assertThat(bound.get(i).get("type").asText()).isEqualTo("bind");
                String name = dest.equals("/tmp") ? "tmp" : "dev-shm";
                assertThat(bound.get(i).get("source").asText()).isEqualTo("/run/mm/tmpfs/c/" + name);
                List<String> options = new ArrayList<>();
                bound.get(i).get("options").forEach(o -> options.add(o.asText()));
                assertThat(options).contains("bind", "nosuid", "nodev").noneMatch(o -> o.startsWith("size="));
            } else {
                assertThat(bound.get(i)).isEqualTo(own.get(i));
            }
        }
    }

    private byte[] create(Path dir) throws Exception {
        Path mmtar = Workloads.extract("mmtar", tmp.resolve("bin").resolve("tar"));
        Path out = tmp.resolve("archive-" + System.nanoTime());
        Process p = new ProcessBuilder(mmtar.toString(), "--create", "--gzip", "--no-unquote", "--no-wildcards",
                "--one-file-system", "--check-links", "--preserve-permissions", "--sparse", "--numeric-owner",
                "--directory", dir.toString(), ".").redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        return Files.readAllBytes(out);
    }

    /** {@link TmpfsSamples#plainTree} with a path longer than a ustar name (split into the prefix). */
    private Path sampleTree() throws Exception {
        Path dir = TmpfsSamples.plainTree(tmp.resolve("tmpfs"));
        Path deep = Files.createDirectories(dir.resolve("d".repeat(60) + "/" + "e".repeat(60)));
        Files.writeString(deep.resolve("f".repeat(40)), "deep");
        TmpfsSamples.stamp(dir);
        return dir;
    }

    private static java.util.Map<String, String> tree(Path root) throws Exception {
        return TmpfsSamples.tree(root);
    }
}
