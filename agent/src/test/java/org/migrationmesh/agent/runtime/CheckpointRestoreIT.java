package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.agent.sim.Ticks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real container checkpointed on one simulated host and restored on another (other network
 * namespace, runc root and cgroup path), with a client's TCP connection kept open throughout.
 */
class CheckpointRestoreIT {
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("cr");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void stopAndCopyMovesContainerToOtherHostAndKeepsItsTcpClient() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        String id = "tick-" + fx.net.prefix();
        Path bundleA = fx.bundle(fx.a, id, "tickserver", List.of("/bin/tickserver", ip, "7000", "7001"));
        ContainerState started = fx.runcA.run(id, bundleA);
        assertThat(started.running()).isTrue();

        ProbeProcess probe = fx.startProbe("tcp", ip, "7000", "12");
        List<String> lines = probe.lines();
        waitFor(() -> Ticks.of(lines).size() >= 10, Duration.ofSeconds(10), () -> "client to see 10 ticks: " + tail(lines));
        int linesBefore = lines.size();
        // A file in the container's /tmp (a tmpfs: CRIU archives its content in the image)
        Files.writeString(Path.of("/proc", Integer.toString(started.pid()), "root", "tmp", "kept"), "tmpfs content " + id);

        Path images = fx.dir.resolve("images").resolve(id);
        CheckpointResult dump = fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-dump")));
        assertThat(fx.runcA.find(id)).as("stop-and-copy ends the source container").isEmpty();
        assertThat(dump.imageBytes()).isPositive();
        assertThat(dump.stats().getFrozenTimeUs()).as("CRIU's dump statistics were read").isPositive();
        assertThat(dump.stats().getPagesWritten()).isPositive();
        List<Path> tmpfsImages;
        try (var files = Files.list(images)) {
            tmpfsImages = files.filter(f -> f.getFileName().toString().startsWith("tmpfs-dev-")).toList();
        }
        assertThat(tmpfsImages).as("CRIU archived the container's tmpfs mounts").isNotEmpty();
        for (Path f : tmpfsImages) {
            assertThat(MmtarTest.isPlainTar(f)).as("archived through mmtar, without gzip: " + f.getFileName()).isTrue();
        }

        // The floating IP leaves host a and arrives on host b before the restore binds it.
        fx.net.removeAddress(fx.a, ip);
        fx.net.addAddress(fx.b, ip);
        Path bundleB = fx.bundle(fx.b, id, "tickserver", List.of("/bin/tickserver", ip, "7000", "7001"));
        RestoreResult restored = fx.runcB.restore(id, bundleB, RestoreOptions.of(images, fx.dir.resolve("work-restore")));
        fx.net.announce(fx.b, ip);
        assertThat(restored.pid()).isPositive();
        assertThat(restored.stats().getRestoreTimeUs()).isPositive();
        ContainerState onB = fx.runcB.state(id);
        assertThat(onB.running()).isTrue();
        assertThat(Files.readString(Path.of("/proc", Integer.toString(onB.pid()), "root", "tmp", "kept")))
                .as("the tmpfs content came along").isEqualTo("tmpfs content " + id);
        assertThat(onB.bundle()).isEqualTo(bundleB);
        assertThat(Files.readString(Path.of("/proc", Integer.toString(onB.pid()), "cgroup")))
                .as("restored into host b's cgroup path").contains(fx.cgroupParent + "/b/" + id);

        List<String> removed = new NetworkLock(fx.runner).remove(fx.a.netns());
        assertThat(removed).as("CRIU left its network lock on the source").isNotEmpty();
        assertThat(new NetworkLock(fx.runner).remove(fx.a.netns())).as("removal is idempotent").isEmpty();

        assertThat(probe.awaitEnd(Duration.ofSeconds(30))).isTrue();
        assertThat(lines).as("the client's connection lasted: " + tail(lines)).last().isEqualTo("end ok");
        Ticks ticks = Ticks.of(lines);
        assertThat(Ticks.of(lines.subList(linesBefore, lines.size())).size()).as("ticks arrived after the restore")
                .isGreaterThan(10);
        assertThat(ticks.starts()).as("one process start time: continued, not restarted").isEqualTo(1);
        assertThat(ticks.consecutive()).as("tick counter went on: " + ticks).isTrue();
        assertThat(lines).as("the server still echoes the client's lines after restore")
                .anyMatch(l -> l.matches("\\d+ echo ping (1[0-9]|[5-9])"));
    }


    static String tail(List<String> lines) {
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    }

    static void waitFor(java.util.function.BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        waitFor(condition, timeout, () -> what);
    }

    /** Polls {@code condition}; on timeout fails with {@code what}, evaluated then (it may show what was seen). */
    static void waitFor(java.util.function.BooleanSupplier condition, Duration timeout,
                        java.util.function.Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what.get());
            Thread.sleep(20);
        }
    }
}
