package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.agent.sim.Ticks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.migrationmesh.agent.runtime.CheckpointRestoreIT.tail;
import static org.migrationmesh.agent.runtime.CheckpointRestoreIT.waitFor;

/**
 * {@code runc restore} started before its images are there ({@link Runc#startEarlyRestore}):
 * CRIU waits at the gate (the agent's {@code mmcriu} in runc's place of criu) while the images
 * arrive, restores once it opens, and an aborted gate fails the restore and leaves no container.
 */
class EarlyRestoreIT {
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("er");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void crIuWaitsAtTheGateUntilTheImagesAreThereThenTheContainerGoesOn() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        String id = "early-" + fx.net.prefix();
        List<String> args = List.of("/bin/tickserver", ip, "7000", "7001");
        fx.runcA.run(id, fx.bundle(fx.a, id, "tickserver", args));
        ProbeProcess probe = fx.startProbe("tcp", ip, "7000", "12");
        List<String> lines = probe.lines();
        waitFor(() -> Ticks.of(lines).size() >= 10, Duration.ofSeconds(10), () -> "client to see 10 ticks: " + tail(lines));

        Path dumped = fx.dir.resolve("dumped");
        fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(dumped, fx.dir.resolve("work-dump")));
        fx.net.removeAddress(fx.a, ip);
        fx.net.addAddress(fx.b, ip);

        // Only runc's descriptors.json is there when the restore starts.
        Path images = fx.dir.resolve("arriving");
        Files.createDirectories(images);
        Files.copy(dumped.resolve("descriptors.json"), images.resolve("descriptors.json"));
        Path gate = fx.dir.resolve("gate");
        EarlyRestore early = fx.runcB.startEarlyRestore(id, fx.bundle(fx.b, id, "tickserver", args),
                RestoreOptions.of(images, fx.dir.resolve("work-restore")), gate);
        try {
            waitFor(() -> criuWaitingAt(gate), Duration.ofSeconds(20), "CRIU started by runc, waiting at the gate");
            Thread.sleep(300);
            assertThat(early.isDone()).as("runc waits while the gate is shut").isFalse();
            assertThat(Files.readAttributes(gate.resolve(EarlyRestore.WAKE), BasicFileAttributes.class).isOther())
                    .as("mmcriu waits on its wake-up FIFO").isTrue();
            assertThat(fx.runcB.find(id).map(ContainerState::running).orElse(false)).as("nothing restored yet").isFalse();

            try (Stream<Path> files = Files.list(dumped)) {
                for (Path f : files.toList()) {
                    if (!Files.exists(images.resolve(f.getFileName()))) Files.createLink(images.resolve(f.getFileName()), f);
                }
            }
            early.open();
            RestoreResult restored = early.await(Duration.ofMinutes(1));
            fx.net.announce(fx.b, ip);
            assertThat(restored.pid()).isPositive();
            assertThat(restored.stats().getRestoreTimeUs()).as("CRIU's restore statistics were read").isPositive();
            assertThat(early.aheadOfOpening()).as("runc ran ahead of the opening").isGreaterThan(Duration.ofMillis(300));
        } finally {
            early.close();
        }
        assertThat(fx.runcB.state(id).running()).isTrue();
        assertThat(probe.awaitEnd(Duration.ofSeconds(30))).isTrue();
        assertThat(lines).as("the client's connection lasted: " + tail(lines)).last().isEqualTo("end ok");
        assertThat(Ticks.of(lines).starts()).as("one process start time: continued, not restarted").isEqualTo(1);
        assertThat(Ticks.of(lines).consecutive()).isTrue();
    }

    @Test
    void anAbortedGateFailsTheRestoreAndLeavesNoContainer() throws Exception {
        String id = "early-abort-" + fx.net.prefix();
        Path gate = fx.dir.resolve("gate-abort");
        EarlyRestore early = waitingForNothing(id, gate);
        early.abort();
        assertThatThrownBy(() -> early.await(Duration.ofMinutes(1))).isInstanceOf(CommandFailure.class);
        assertThat(fx.runcB.find(id)).as("runc removed what it had made").isEmpty();
        assertThat(criuWaitingAt(gate)).as("no CRIU left waiting").isFalse();
    }

    @Test
    void removingTheGateDirectoryEndsTheRestoreToo() throws Exception {
        String id = "early-gone-" + fx.net.prefix();
        Path gate = fx.dir.resolve("migration-gone").resolve("gate");
        EarlyRestore early = waitingForNothing(id, gate);
        Images.delete(gate.getParent()); // what an agent does with the directories of an ended migration
        assertThatThrownBy(() -> early.await(Duration.ofSeconds(30))).isInstanceOf(CommandFailure.class);
        assertThat(fx.runcB.find(id)).isEmpty();
    }

    /** An early restore of container {@code id} on host b whose images never come, once its CRIU waits at {@code gate}. */
    private EarlyRestore waitingForNothing(String id, Path gate) throws Exception {
        List<String> args = List.of("/bin/tickserver", fx.net.newFloatingAddress(), "7000", "7001");
        Path images = fx.dir.resolve("never-" + id);
        Files.createDirectories(images);
        Files.writeString(images.resolve("descriptors.json"), "[\"/dev/null\",\"/dev/null\",\"/dev/null\"]");
        EarlyRestore early = fx.runcB.startEarlyRestore(id, fx.bundle(fx.b, id, "tickserver", args),
                RestoreOptions.of(images, fx.dir.resolve("work-" + id)), gate);
        waitFor(() -> criuWaitingAt(gate), Duration.ofSeconds(20), "CRIU waiting at the gate");
        return early;
    }

    /** Whether mmcriu runs with this gate in its environment: waiting (it becomes the real criu once the gate opens). */
    private static boolean criuWaitingAt(Path gate) {
        String needle = "MM_CRIU_GATE=" + gate + "\0";
        return ProcessHandle.allProcesses().anyMatch(p -> {
            try {
                return p.info().command().map(c -> c.contains("/mmcriu-bin/")).orElse(false)
                        && new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "environ"))).contains(needle);
            } catch (Exception e) {
                return false;
            }
        });
    }
}
