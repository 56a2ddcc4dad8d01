package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent's CRIU action script ({@code mmfreeze}, given to CRIU through runc's
 * {@code org.criu.config} annotation) freezes a container's cgroup right before CRIU seizes
 * its tasks: CRIU finds the cgroup frozen and does not freeze it and poll itself; a dump that
 * leaves the container running leaves it thawed.
 */
class CriuFreezeScriptIT {
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("mmfz");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void theScriptFreezesRightBeforeTheSeizeAndALeaveRunningDumpLeavesTheContainerRunning() throws Exception {
        String id = "fz-" + fx.net.prefix();
        BundleSpec spec = runWithScript(id);

        Path work = fx.dir.resolve("work-dump");
        fx.runcA.checkpoint(id,
                CheckpointOptions.stopAndCopy(fx.dir.resolve("images"), work).withLeaveRunning(true));
        String log = Files.readString(work.resolve("dump.log"));
        assertThat(log).as("CRIU ran the agent's action script").contains("[" + script() + "]");
        assertThat(log).as("CRIU found the cgroup frozen: it did not freeze it and poll").doesNotContain("freezing processes:");
        assertThat(fx.runcA.state(id).status()).as("thawed after a dump that leaves it running").isEqualTo("running");

        // The restore reads the same configuration: the script lets every other action pass.
        fx.runcA.delete(id, true);
        RestoreResult restored = fx.runcA.restore(id, Workloads.bundle(fx.dir.resolve("bundles").resolve(id + "-r"),
                "tickserver", spec), RestoreOptions.of(fx.dir.resolve("images"), fx.dir.resolve("work-restore")));
        assertThat(restored.pid()).isPositive();
        assertThat(fx.runcA.state(id).status()).isEqualTo("running");
    }

    @Test
    void onPostDumpTheScriptTellsTheImagesAreCompleteBeforeRuncReturns() throws Exception {
        String id = "fw-" + fx.net.prefix();
        BundleSpec spec = runWithScript(id);

        Path images = fx.dir.resolve("images-w");
        java.util.concurrent.atomic.AtomicReference<java.util.Map<String, Long>> atSignal = new java.util.concurrent.atomic.AtomicReference<>();
        CheckpointResult dump = fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-w")),
                () -> atSignal.set(filesAndSizes(images)));
        assertThat(atSignal.get()).as("the script told the images complete before runc returned").isNotNull();
        assertThat(atSignal.get()).as("every image file there, at its final size, when told").isEqualTo(filesAndSizes(images))
                .containsKey("inventory.img").containsKey("pages-1.img");
        assertThat(dump.imageBytes()).isPositive();

        RestoreResult restored = fx.runcA.restore(id, Workloads.bundle(fx.dir.resolve("bundles").resolve(id + "-r"),
                "tickserver", spec), RestoreOptions.of(images, fx.dir.resolve("work-w-restore")));
        assertThat(restored.pid()).isPositive();
        assertThat(fx.runcA.state(id).status()).isEqualTo("running");
    }

    private Path script() {
        return fx.dir.resolve("criu").resolve("mmfreeze");
    }

    /** Runs tickserver as container {@code id} with the agent's action script in its CRIU configuration. */
    private BundleSpec runWithScript(String id) throws Exception {
        Path script = Workloads.extract("mmfreeze", script());
        Path conf = fx.dir.resolve("criu").resolve("dump.conf");
        Files.writeString(conf, "action-script " + script + "\n");
        BundleSpec spec = BundleSpec.of(List.of("/bin/tickserver", "127.0.0.1", "7000", "7001"), fx.a.netnsPath(),
                fx.cgroupParent + "/a/" + id).withCriuConfig(conf);
        fx.runcA.run(id, Workloads.bundle(fx.dir.resolve("bundles").resolve(id), "tickserver", spec));
        return spec;
    }

    private static java.util.Map<String, Long> filesAndSizes(Path dir) {
        try (var files = Files.list(dir)) {
            java.util.Map<String, Long> m = new java.util.TreeMap<>();
            for (Path f : files.toList()) m.put(f.getFileName().toString(), Files.size(f));
            return m;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
