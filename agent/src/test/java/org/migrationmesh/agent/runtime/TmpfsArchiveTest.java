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
 * The archive of an empty tmpfs written and read without a process ({@link TmpfsArchive}) is
 * mmtar's, byte for byte, and anything else is left to mmtar; a bundle binds its tmpfs mounts
 * from the host's directory when it has one ({@link BundleWriter}).
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

        TmpfsArchive.Top top = new TmpfsArchive.Top(01777, 0, 0, 1_796_400_000L);
        assertThat(TmpfsArchive.ofEmpty(top)).isEqualTo(mmtars);
        assertThat(TmpfsArchive.emptyTop(mmtars)).contains(top);
    }

    @Test
    void anArchiveHoldingMoreIsNotTakenForAnEmptyOne() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(dir.resolve("a"), "x");
        assertThat(TmpfsArchive.emptyTop(create(dir))).isEmpty();
        Path sub = Files.createDirectories(tmp.resolve("sub"));
        Files.createDirectories(sub.resolve("d"));
        assertThat(TmpfsArchive.emptyTop(create(sub))).isEmpty();
        byte[] truncated = java.util.Arrays.copyOf(TmpfsArchive.ofEmpty(new TmpfsArchive.Top(0755, 1, 2, 3)), 512);
        assertThat(TmpfsArchive.emptyTop(truncated)).isEmpty();
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
}
