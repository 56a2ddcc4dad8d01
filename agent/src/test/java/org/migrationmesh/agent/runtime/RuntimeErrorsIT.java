package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.proto.runtime.RuntimeCapabilities;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad input against the real runc and CRIU: clear errors naming container and phase, nothing lost. */
class RuntimeErrorsIT {
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
    void capabilitiesAreDetectedFromTheRealTools() {
        RuntimeCapabilities caps = new Criu(Criu.DEFAULT_BINARY, fx.runner).detect(Path.of("runc"));
        assertThat(Criu.compareVersions(caps.getCriuVersion(), Criu.MIN_VERSION)).isGreaterThanOrEqualTo(0);
        assertThat(caps.getRuncVersion()).matches("\\d+\\.\\d+.*");
        assertThat(caps.getLazyPages()).as("this kernel has userfaultfd (PLATFORM.md)").isTrue();
    }

    @Test
    void lifecycleRunListKillDelete() throws Exception {
        String id = "life-" + fx.net.prefix();
        ContainerState s = fx.runcA.run(id, fx.bundle(fx.a, id, "memhog", List.of("/bin/memhog", "1", "0")));
        assertThat(s.pid()).isPositive();
        assertThat(fx.runcA.list()).extracting(ContainerState::id).contains(id);
        assertThat(fx.runcB.list()).as("each host has its own runc root").extracting(ContainerState::id).doesNotContain(id);
        fx.runcA.kill(id, "KILL");
        CheckpointRestoreIT.waitFor(() -> fx.runcA.state(id).status().equals("stopped"), Duration.ofSeconds(10), "stopped");
        fx.runcA.delete(id, false);
        assertThat(fx.runcA.find(id)).isEmpty();
    }

    @Test
    void unknownContainerIsNamedInTheError() {
        assertThatThrownBy(() -> fx.runcA.state("no-such-ctr"))
                .isInstanceOfSatisfying(CommandFailure.class, f -> {
                    assertThat(f.containerId()).isEqualTo("no-such-ctr");
                    assertThat(f.phase()).isEqualTo(Phase.STATE);
                    assertThat(f.exitCode()).isNotZero();
                })
                .hasMessageContaining("state of container 'no-such-ctr'")
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> fx.runcA.checkpoint("no-such-ctr",
                CheckpointOptions.stopAndCopy(fx.dir.resolve("img"), fx.dir.resolve("work"))))
                .isInstanceOf(CommandFailure.class)
                .hasMessageContaining("checkpoint of container 'no-such-ctr'");
    }

    @Test
    void bundleWithoutRootfsIsRefusedBeforeRunc() throws Exception {
        Path bundle = fx.bundle(fx.a, "nofs", "tickserver", List.of("/bin/tickserver", "127.0.0.1", "1", "2"));
        Images.delete(bundle.resolve("rootfs"));
        assertThatThrownBy(() -> fx.runcA.run("nofs", bundle))
                .isInstanceOf(RuntimeFailure.class)
                .hasMessageContaining("bundle of container 'nofs'")
                .hasMessageContaining("rootfs " + bundle.resolve("rootfs") + " does not exist");
        assertThat(fx.runcA.find("nofs")).isEmpty();
    }

    @Test
    void missingAndCorruptImagesFailTheRestoreAndLeaveNothingBehind() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        String id = "img-" + fx.net.prefix();
        List<String> args = List.of("/bin/tickserver", ip, "7000", "7001");
        Path bundleB = fx.bundle(fx.b, id, "tickserver", args);

        Path missing = fx.dir.resolve("no-images");
        assertThatThrownBy(() -> fx.runcB.restore(id, bundleB, RestoreOptions.of(missing, fx.dir.resolve("w1"))))
                .isInstanceOf(RuntimeFailure.class)
                .hasMessageContaining("restore of container '" + id + "'")
                .hasMessageContaining(missing + " does not exist");
        Path empty = Files.createDirectories(fx.dir.resolve("empty-images"));
        assertThatThrownBy(() -> fx.runcB.restore(id, bundleB, RestoreOptions.of(empty, fx.dir.resolve("w2"))))
                .hasMessageContaining("no inventory.img");

        fx.runcA.run(id, fx.bundle(fx.a, id, "tickserver", args));
        Path images = fx.dir.resolve("images");
        fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-dump")).withLeaveRunning(true));
        new NetworkLock(fx.runner).remove(fx.a.netns());
        // Corrupt the memory image: CRIU must refuse it, not restore garbage.
        try (var files = Files.list(images)) {
            for (Path p : files.filter(f -> f.getFileName().toString().startsWith("pagemap-")).toList()) {
                Files.write(p, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
            }
        }
        fx.net.addAddress(fx.b, ip);
        Path work = fx.dir.resolve("work-restore");
        assertThatThrownBy(() -> fx.runcB.restore(id, bundleB, RestoreOptions.of(images, work)))
                .isInstanceOfSatisfying(CommandFailure.class, f -> {
                    assertThat(f.phase()).isEqualTo(Phase.RESTORE);
                    assertThat(f.criuLog()).isEqualTo(work.resolve("restore.log"));
                    assertThat(f.criuLogTail()).isNotBlank();
                })
                .hasMessageContaining("restore of container '" + id + "'");
        assertThat(fx.runcB.find(id)).as("a failed restore leaves no container behind").isEmpty();
        assertThat(fx.runcA.state(id).running()).as("the source copy is untouched").isTrue();
        new NetworkLock(fx.runner).remove(fx.b.netns());
    }

    @Test
    void failedCheckpointLeavesTheContainerRunningWithItsClient() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        String id = "keep-" + fx.net.prefix();
        fx.runcA.run(id, fx.bundle(fx.a, id, "tickserver", List.of("/bin/tickserver", ip, "7000", "7001")));
        ProbeProcess probe = fx.startProbe("tcp", ip, "7000", "6");
        List<String> lines = probe.lines();
        CheckpointRestoreIT.waitFor(() -> lines.size() >= 5, Duration.ofSeconds(10), () -> "ticks: " + CheckpointRestoreIT.tail(lines));

        // An established connection without --tcp-established: CRIU refuses after freezing.
        Path work = fx.dir.resolve("work");
        assertThatThrownBy(() -> fx.runcA.checkpoint(id,
                CheckpointOptions.stopAndCopy(fx.dir.resolve("img"), work).withTcpEstablished(false)))
                .isInstanceOfSatisfying(CommandFailure.class, f -> {
                    assertThat(f.phase()).isEqualTo(Phase.CHECKPOINT);
                    assertThat(f.criuLogTail()).contains("tcp-established");
                })
                .hasMessageContaining("checkpoint of container '" + id + "'");
        assertThat(fx.runcA.state(id).running()).isTrue();
        int seen = lines.size();
        CheckpointRestoreIT.waitFor(() -> lines.size() >= seen + 5, Duration.ofSeconds(10),
                () -> "ticks after the failed dump: " + CheckpointRestoreIT.tail(lines));
        assertThat(probe.awaitEnd(Duration.ofSeconds(20))).isTrue();
        assertThat(lines).last().isEqualTo("end ok");
    }

    @Test
    void missingOrTooOldCriuIsReportedWithWhatToDo() throws Exception {
        assertThatThrownBy(() -> new Criu(Path.of("/nonexistent/criu"), fx.runner).requireVersion())
                .isInstanceOf(RuntimeFailure.class)
                .hasMessageContaining("run scripts/setup-host.sh");
        // Debian 12's own CRIU reports 3.17; that must be refused by version, before any dump.
        Path old = fx.dir.resolve("old-criu");
        Files.writeString(old, "#!/bin/sh\necho 'Version: 3.17.1'\n");
        Files.setPosixFilePermissions(old, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThatThrownBy(() -> new Criu(old, fx.runner).requireVersion())
                .isInstanceOf(RuntimeFailure.class)
                .hasMessageContaining("CRIU 3.17.1")
                .hasMessageContaining("older than 4.2");
    }
}
