package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A final dump's pages image taken through a FIFO into pages allocated before the dump
 * ({@link PagesFifo}, mmpages), with real runc, CRIU and the agent's action script: the image is
 * the one CRIU writes itself, and restores; a pages image the dump does not make leaves nothing;
 * a helper that fails, while CRIU writes or after, fails the dump and the container runs on, and
 * one killed before the dump leaves CRIU to write the image itself rather than wait.
 */
class PagesFifoIT {
    private static final int MB = 32;
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("mmpf");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void theImageThroughTheFifoIsTheOneCriuWritesAndRestores() throws Exception {
        String id = "pf-" + fx.net.prefix();
        BundleSpec spec = runMemhog(id);
        // memhog rewrites nothing (rate 0): a dump CRIU writes itself, the container left running, holds
        // the same pages as the final dump through the FIFO, but for the few its stack and libc touch.
        Path plain = fx.dir.resolve("images-plain");
        fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(plain, fx.dir.resolve("work-plain")).withLeaveRunning(true));

        Path images = fx.dir.resolve("images"), work = fx.dir.resolve("work");
        int pid = fx.runcA.state(id).pid();
        long bytes = PagesFifo.allocationFor(Files.readString(Path.of("/proc", Integer.toString(pid), "smaps_rollup"))).orElseThrow();
        assertThat(bytes).as("memhog's %d MiB and some", MB).isGreaterThan(MB << 20);
        try (PagesFifo pages = PagesFifo.start(fx.runner, mmpages(), id, images, work, 1, bytes)) {
            assertThat(PagesFifo.isFifo(images.resolve("pages-1.img"))).as("a FIFO at the image's path before the dump").isTrue();
            assertThat(pages.readiness()).contains("allocated=" + bytes);
            fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, work));
            String account = pages.finish();
            long size = Files.size(images.resolve("pages-1.img"));
            assertThat(account).as("mmpages' account").startsWith("ok " + size + " ");
            assertThat(Files.isRegularFile(images.resolve("pages-1.img"))).isTrue();
        }
        byte[] through = Files.readAllBytes(images.resolve("pages-1.img"));
        byte[] written = Files.readAllBytes(plain.resolve("pages-1.img"));
        assertThat(through.length).as("as many pages as CRIU wrote itself").isEqualTo(written.length);
        int pagesCount = through.length / 4096, same = 0;
        for (int i = 0; i < pagesCount; i++) {
            if (Arrays.equals(through, i * 4096, (i + 1) * 4096, written, i * 4096, (i + 1) * 4096)) same++;
        }
        assertThat(same).as("pages alike of %d (memhog's are all distinct, so a page out of place differs)", pagesCount)
                .isGreaterThan(pagesCount - 64);
        assertThat(leftovers(work)).as("nothing of mmpages' left in CRIU's work directory").isEmpty();

        RestoreResult restored = fx.runcA.restore(id, Workloads.bundle(fx.dir.resolve("bundles").resolve(id + "-r"), "memhog", spec),
                RestoreOptions.of(images, fx.dir.resolve("work-restore")));
        assertThat(restored.pid()).isPositive();
        assertThat(fx.runcA.state(id).status()).isEqualTo("running");
    }

    @Test
    void aPagesImageTheDumpDoesNotMakeLeavesNoFifo() throws Exception {
        String id = "pu-" + fx.net.prefix();
        runMemhog(id);
        Path images = fx.dir.resolve("images"), work = fx.dir.resolve("work");
        try (PagesFifo pages = PagesFifo.start(fx.runner, mmpages(), id, images, work, 7, 1 << 20)) {
            fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, work));
            assertThat(pages.finish()).isEqualTo("unused");
        }
        assertThat(images.resolve("pages-7.img")).doesNotExist();
        assertThat(Files.isRegularFile(images.resolve("pages-1.img"))).as("CRIU wrote its own image").isTrue();
        assertThat(leftovers(work)).isEmpty();
    }

    @Test
    void aHelperThatFailsWhileCriuWritesFailsTheDumpAndTheContainerRunsOn() throws Exception {
        failedHelperLeavesTheContainerRunning("early");
    }

    @Test
    void aHelperThatFailsAfterCriuClosedTheFifoFailsTheDumpAndTheContainerRunsOn() throws Exception {
        failedHelperLeavesTheContainerRunning("late");
    }

    @Test
    void aHelperKilledBeforeTheDumpLeavesCriuToWriteTheImageItself() throws Exception {
        String id = "pk-" + fx.net.prefix();
        BundleSpec spec = runMemhog(id);
        Path images = fx.dir.resolve("images"), work = fx.dir.resolve("work");
        try (PagesFifo pages = PagesFifo.start(fx.runner, mmpages(), id, images, work, 1, 40L << 20)) {
            long helper = ProcessHandle.current().descendants().filter(p -> p.info().command().orElse("").endsWith("mmpages"))
                    .findFirst().orElseThrow().pid();
            new ProcessBuilder("kill", "-KILL", Long.toString(helper)).start().waitFor();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (Files.exists(images.resolve("pages-1.img")) && System.nanoTime() < deadline) Thread.sleep(5);
            assertThat(images.resolve("pages-1.img")).as("the FIFO gone with its reader").doesNotExist();
            fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, work));
            assertThatThrownBy(pages::finish).isInstanceOf(RuntimeFailure.class).hasMessageContaining("did not take");
        }
        assertThat(Files.size(images.resolve("pages-1.img"))).as("CRIU's own image").isGreaterThan(MB << 20);
        RestoreResult restored = fx.runcA.restore(id, Workloads.bundle(fx.dir.resolve("bundles").resolve(id + "-r"), "memhog", spec),
                RestoreOptions.of(images, fx.dir.resolve("work-restore")));
        assertThat(restored.pid()).isPositive();
    }

    private void failedHelperLeavesTheContainerRunning(String when) throws Exception {
        String id = "p" + when.charAt(0) + "-" + fx.net.prefix();
        runMemhog(id);
        int pid = fx.runcA.state(id).pid();
        Path images = fx.dir.resolve("images"), work = fx.dir.resolve("work");
        try (PagesFifo pages = PagesFifo.start(fx.runner, mmpages(), id, images, work, 1, 40L << 20, Map.of("MM_PAGES_FAIL", when))) {
            assertThatThrownBy(() -> fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, work)))
                    .as("the dump fails (MM_PAGES_FAIL=%s)", when).isInstanceOf(RuntimeFailure.class);
            assertThatThrownBy(pages::finish).isInstanceOf(RuntimeFailure.class).hasMessageContaining("MM_PAGES_FAIL=" + when);
        }
        ContainerState after = fx.runcA.state(id);
        assertThat(after.status()).as("the container runs on where it was").isEqualTo("running");
        assertThat(after.pid()).isEqualTo(pid);
        assertThat(Files.readString(Path.of("/proc", Integer.toString(pid), "status"))).as("not stopped, not traced")
                .doesNotContain("State:\tT").doesNotContain("State:\tt");
    }

    private Path mmpages() throws Exception {
        return Workloads.extract("mmpages", fx.dir.resolve("criu").resolve("mmpages"));
    }

    /** Runs memhog (MB MiB, none rewritten) as container {@code id} with the agent's action script in its CRIU configuration. */
    private BundleSpec runMemhog(String id) throws Exception {
        Path script = Workloads.extract("mmfreeze", fx.dir.resolve("criu").resolve("mmfreeze"));
        Path conf = fx.dir.resolve("criu").resolve("dump.conf");
        Files.writeString(conf, "action-script " + script + "\n");
        BundleSpec spec = BundleSpec.of(List.of("/bin/memhog", Integer.toString(MB), "0"), fx.a.netnsPath(),
                fx.cgroupParent + "/a/" + id).withCriuConfig(conf);
        fx.runcA.run(id, Workloads.bundle(fx.dir.resolve("bundles").resolve(id), "memhog", spec));
        // until memhog has filled its memory: its resident size stops growing
        int pid = fx.runcA.state(id).pid();
        long last = -1, now;
        for (int i = 0; i < 200; i++) {
            Thread.sleep(50);
            now = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status")).stream()
                    .filter(l -> l.startsWith("VmRSS:")).map(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(0L);
            if (now == last && now > (long) MB * 1024) break;
            last = now;
        }
        return spec;
    }

    private static List<String> leftovers(Path work) throws Exception {
        try (Stream<Path> s = Files.list(work)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("pages-")).toList();
        }
    }
}
