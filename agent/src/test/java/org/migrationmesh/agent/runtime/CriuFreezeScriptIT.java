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
 * leaves the container running leaves it thawed. While a final dump holds the container frozen,
 * runc and CRIU run ahead of the host's other work, and go back once the images are written.
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
    void theScriptTellsTheContainerFrozenThenTheImagesCompleteBeforeRuncReturnsAndRuncAndCriuGoFirstMeanwhile() throws Exception {
        String id = "fw-" + fx.net.prefix();
        BundleSpec spec = runWithScript(id);

        Path images = fx.dir.resolve("images-w");
        int pid = fx.runcA.state(id).pid();
        CgroupFreezer.Location events = cgroupEvents(pid);
        java.util.List<String> told = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.atomic.AtomicReference<java.util.Map<String, Long>> atSignal = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.List<String> nice = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        CheckpointResult dump = fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-w")),
                () -> {
                    told.add("frozen: " + stopped(events, pid) + (Files.exists(fx.dir.resolve("work-w").resolve("images-written"))
                            ? ", told only with the images" : ""));
                    nice.add(niceOfRuncAndCriu());
                }, () -> {
                    told.add("images written");
                    atSignal.set(filesAndSizes(images));
                    nice.add(niceOfRuncAndCriu());
                });
        assertThat(told).as("the script told the container frozen (it was: its cgroup frozen, or its tasks seized by CRIU,"
                + " which thaws the cgroup once it holds them), then the images complete")
                .containsExactly("frozen: stopped", "images written");
        assertThat(atSignal.get()).as("the script told the images complete before runc returned").isNotNull();
        assertThat(atSignal.get()).as("every image file there, at its final size, when told").isEqualTo(filesAndSizes(images))
                .containsKey("inventory.img").containsKey("pages-1.img");
        assertThat(dump.imageBytes()).isPositive();
        int own = niceOf(ProcessHandle.current().pid());
        int boosted = Math.max(-20, own - Runc.DUMP_BOOST);
        assertThat(nice).as("runc and CRIU ahead of the host's other work while the container is frozen (this JVM at"
                + " nice %d)", own).first().isEqualTo("runc " + boosted + ", criu " + boosted);
        // Once the images are written both may have exited already (a small container's teardown is quick);
        // the script's step back is checked on its own below.
        assertThat(nice).as("back once the images are written").element(1)
                .isIn("runc " + own + ", criu " + own, "runc " + own + ", criu none", "runc none, criu none");

        RestoreResult restored = fx.runcA.restore(id, Workloads.bundle(fx.dir.resolve("bundles").resolve(id + "-r"),
                "tickserver", spec), RestoreOptions.of(images, fx.dir.resolve("work-w-restore")));
        assertThat(restored.pid()).isPositive();
        assertThat(fx.runcA.state(id).status()).isEqualTo("running");
    }

    @Test
    void theScriptMovesItsParentAndGrandparentAheadOnPreDumpAndBackOrBehindOnPostDumpOnlyWhenAsked() throws Exception {
        Path script = Workloads.extract("mmfreeze", script());
        int own = niceOf(ProcessHandle.current().pid());
        int boosted = Math.max(-20, own - 7);
        // Two shells stand in for runc and the CRIU it runs: the inner one runs the script as CRIU runs an
        // action script (no container: CRTOOLS_INIT_PID unset, so nothing is frozen) and prints its own nice
        // value and its parent's after each action.
        String niceBoth = "echo $(cut -d\" \" -f19 /proc/$$/stat) $(cut -d\" \" -f19 /proc/$PPID/stat)";
        String inner = "CRTOOLS_SCRIPT_ACTION=pre-dump \"$MMF\"; " + niceBoth + "; CRTOOLS_SCRIPT_ACTION=post-dump \"$MMF\"; "
                + niceBoth;
        assertThat(actions(script, inner, "7", null)).as("asked (MM_DUMP_BOOST=7)")
                .isEqualTo(boosted + " " + boosted + "\n" + own + " " + own + "\n");
        int behind = Math.min(19, own + 5);
        assertThat(actions(script, inner, "7", "5")).as("asked, and behind for the teardown (MM_TEARDOWN_NICE=5)")
                .isEqualTo(boosted + " " + boosted + "\n" + behind + " " + behind + "\n");
        assertThat(actions(script, inner, null, null)).as("not asked (a pre-dump)").isEqualTo(own + " " + own + "\n" + own + " " + own + "\n");
        assertThat(fx.dir.resolve("actions").resolve("images-written")).as("post-dump still marks the images written").exists();
    }

    private String actions(Path script, String inner, String boost, String teardown) throws Exception {
        Path work = Files.createDirectories(fx.dir.resolve("actions"));
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", "/bin/sh -c '" + inner + "'; true").directory(work.toFile())
                .redirectErrorStream(true);
        pb.environment().put("MMF", script.toString());
        pb.environment().remove("MM_DUMP_BOOST");
        if (boost != null) pb.environment().put("MM_DUMP_BOOST", boost);
        pb.environment().remove("MM_TEARDOWN_NICE");
        if (teardown != null) pb.environment().put("MM_TEARDOWN_NICE", teardown);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("the shells' exit (output: %s)", out).isZero();
        return out;
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

    /** The freezer of the cgroup process {@code pid} is in (v1 or v2, as runc and CRIU use it). */
    private static CgroupFreezer.Location cgroupEvents(int pid) throws java.io.IOException {
        return CgroupFreezer.locate(Path.of("/sys/fs/cgroup"), Files.readAllLines(Path.of("/proc", Integer.toString(pid), "cgroup")))
                .orElseThrow();
    }

    /**
     * "stopped" if the freezer says frozen or the process is in a tracing stop (CRIU holds it),
     * else what it is. Looked at up to five times in a millisecond: as CRIU thaws the cgroup of
     * the tasks it has seized, each is on its way into the tracing stop for a few microseconds.
     */
    private static String stopped(CgroupFreezer.Location freezer, int pid) {
        String seen = "";
        for (int i = 0; i < 5; i++) {
            seen = stoppedOnce(freezer, pid);
            if (seen.equals("stopped")) return seen;
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
        return seen;
    }

    private static String stoppedOnce(CgroupFreezer.Location freezer, int pid) {
        try {
            Path state = freezer.directory().resolve(freezer.v1() ? "freezer.state" : "cgroup.events");
            if (CgroupFreezer.frozen(Files.readString(state), freezer.v1())) return "stopped";
            String status = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status")).stream()
                    .filter(l -> l.startsWith("State:")).findFirst().orElse("State: gone");
            return status.contains("tracing stop") ? "stopped" : "running (" + status + ")";
        } catch (java.io.IOException e) {
            return "unreadable: " + e.getMessage();
        }
    }

    /** "runc N, criu M": the nice values of the runc this JVM runs and of the CRIU that runc runs. */
    private static String niceOfRuncAndCriu() {
        ProcessHandle runc = childNamed(ProcessHandle.current(), "runc");
        ProcessHandle criu = runc == null ? null : childNamed(runc, "criu");
        return "runc " + niceOrNone(runc) + ", criu " + niceOrNone(criu);
    }

    /** {@code p}'s nice value, or "none" if there is no such process (any more: seen in CI, gone between the two looks). */
    private static String niceOrNone(ProcessHandle p) {
        if (p == null) return "none";
        try {
            return Integer.toString(niceOf(p.pid()));
        } catch (java.io.UncheckedIOException gone) {
            return "none";
        }
    }

    private static ProcessHandle childNamed(ProcessHandle parent, String name) {
        return parent.children().filter(p -> p.info().command().map(c -> Path.of(c).getFileName().toString().equals(name))
                .orElse(false)).findFirst().orElse(null);
    }

    /** The nice value of process {@code pid}'s main thread (field 19 of /proc/PID/stat). */
    private static int niceOf(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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
