package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real tmpfs mounts of a container on the host (root): made fresh with the container's options,
 * their content archived into an image and filled into another host's fresh ones, released; and a
 * tree removed with mounts left in it is unmounted, not emptied.
 */
class TmpfsMountsIT {
    private final Path base = Path.of("/var/tmp", "mmtm-" + Long.toString(System.nanoTime(), 36));

    @AfterEach
    void cleanUp() throws Exception {
        Images.delete(base);
    }

    @Test
    void contentGoesFromOneHostsMountsIntoAnothersThroughTheImage() throws Exception {
        Path mmtar = Workloads.extract("mmtar", base.resolve("bin/mmtar"));
        TmpfsMounts source = new TmpfsMounts(base.resolve("a"), new ProcessCommandRunner(), mmtar);
        TmpfsMounts destination = new TmpfsMounts(base.resolve("b"), new ProcessCommandRunner(), mmtar);
        Path a = source.mountFresh("c1");
        assertThat(source.mountedAll("c1")).isTrue();
        assertThat(Files.getFileStore(a.resolve("tmp")).type()).isEqualTo("tmpfs");
        assertThat(Integer.toOctalString((Integer) Files.getAttribute(a.resolve("tmp"), "unix:mode") & 07777)).isEqualTo("1777");
        Files.writeString(a.resolve("tmp/kept"), "in /tmp");
        Files.createDirectories(a.resolve("tmp/d/e"));
        Process fifo = new ProcessBuilder("mkfifo", a.resolve("dev-shm/initctl").toString()).start();
        assertThat(fifo.waitFor()).isZero();

        Path images = Files.createDirectories(base.resolve("images"));
        source.archive("c1", images);
        assertThat(images.resolve("mm-tmpfs-tmp.tar")).exists();
        assertThat(TmpfsArchive.read(Files.readAllBytes(images.resolve("mm-tmpfs-tmp.tar")))).as("files and directories: in Java")
                .hasValueSatisfying(members -> assertThat(members).extracting(TmpfsArchive.Member::path).contains("./kept", "./d/e/"));
        assertThat(TmpfsArchive.read(Files.readAllBytes(images.resolve("mm-tmpfs-dev-shm.tar")))).as("a FIFO: mmtar's").isEmpty();

        Path b = destination.mountFresh("c1");
        assertThat(destination.fill("c1", images)).isEqualTo(2);
        assertThat(Files.readString(b.resolve("tmp/kept"))).isEqualTo("in /tmp");
        assertThat(b.resolve("tmp/d/e")).isDirectory();
        assertThat((int) Files.getAttribute(b.resolve("dev-shm/initctl"), "unix:mode") & 0170000).as("a FIFO").isEqualTo(0010000);
        assertThat(Integer.toOctalString((Integer) Files.getAttribute(b.resolve("dev-shm"), "unix:mode") & 07777)).isEqualTo("1777");

        source.release("c1");
        assertThat(source.mountedAll("c1")).isFalse();
        assertThat(base.resolve("a/c1")).doesNotExist();

        // b's mounts are left in place: removing the tree unmounts them instead of emptying them
        Path stillThere = b.resolve("tmp/kept");
        Images.delete(base.resolve("b"));
        assertThat(base.resolve("b")).doesNotExist();
        assertThat(stillThere).doesNotExist();
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(base.toString());
    }

    @Test
    void mountsMadeJustNowAreNotReleasedAsStaleButThoseOfAnEarlierAgentAre() throws Exception {
        Path mmtar = Workloads.extract("mmtar", base.resolve("bin/mmtar"));
        TmpfsMounts mounts = new TmpfsMounts(base.resolve("a"), new ProcessCommandRunner(), mmtar);
        mounts.mountFresh("c1");
        assertThat(mounts.releaseIfOlder("c1", Duration.ofMinutes(1))).as("mounted a moment ago").isFalse();
        assertThat(mounts.mountedAll("c1")).isTrue();

        TmpfsMounts restarted = new TmpfsMounts(base.resolve("a"), new ProcessCommandRunner(), mmtar);
        assertThat(restarted.held()).containsExactly("c1");
        assertThat(restarted.releaseIfOlder("c1", Duration.ofMinutes(1))).as("there before this agent started").isTrue();
        assertThat(restarted.mountedAll("c1")).isFalse();
        assertThat(base.resolve("a/c1")).doesNotExist();

        mounts.mountFresh("c2");
        Thread.sleep(20);
        assertThat(mounts.releaseIfOlder("c2", Duration.ofMillis(10))).isTrue();
        assertThat(mounts.held()).isEmpty();
    }
}
