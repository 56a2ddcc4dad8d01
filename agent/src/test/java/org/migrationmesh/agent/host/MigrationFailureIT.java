package org.migrationmesh.agent.host;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.runtime.BundleSpec;
import org.migrationmesh.agent.runtime.Workloads;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.agent.sim.Ticks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Migrations that fail, with real agents, runc and CRIU: the destination killed mid-transfer, a
 * chunk damaged in transit, a restore that fails on the destination. Each ends with exactly one
 * running copy, the cluster saying where, and nothing left half-done on the destination.
 */
class MigrationFailureIT {
    private HostAgents agents;

    @AfterEach
    void tearDown() {
        if (agents != null) agents.close();
    }

    /**
     * kill -9 of the destination while it receives a 400 MB image: the source restores the
     * container from its dump with its floating IP and commits ABORT. When the destination comes
     * back it removes the half-received image and the copy of the container a restore would
     * have left in its runc (planted here: the kill lands in the transfer), and starts none. The
     * runc restore it had begun ahead of the image, waiting for it, ends with it.
     */
    @Test
    void aDestinationKilledMidTransferLeavesTheContainerOnItsSourceAndCleansUpWhenBack() throws Exception {
        agents = new HostAgents("fd", 3);
        agents.awaitMembers(3);
        String ip = runMemhogOnA1(400);
        long[] before = agents.memhog(ip);

        String id = "mig-" + UUID.randomUUID().toString().substring(0, 8);
        HostAgents.Result migrate = agents.agentctl("a2", "migrate", "mem1", "--to", "a3", "--id", id);
        assertThat(migrate.exit()).as(migrate.err()).isZero();
        // Kill a3 while it receives the final image: its staging directory holds some of it.
        Path incoming = agents.runDir("a3").resolve("incoming").resolve(id);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (staging(incoming).isEmpty() || bytesUnder(incoming) < (16 << 20)) {
            if (System.nanoTime() > deadline) throw new AssertionError("a3 never received an image\n" + agents.logTails());
            Thread.sleep(5);
        }
        agents.kill("a3");
        long killedAt = System.nanoTime();
        List<Path> partial = staging(incoming);
        long partialBytes = bytesUnder(incoming);
        System.out.println("MigrationFailureIT: a3 killed mid-transfer, its staging holds " + partialBytes + " B: " + partial);
        assertThat(partial).as("killed before the image was complete (still staged)").isNotEmpty();
        assertThat(partialBytes).as("killed mid-transfer, not before it").isGreaterThan(0);

        String aborted = agents.await(Duration.ofSeconds(90), "the migration to abort", () -> {
            String out = agents.ps("a2", "mem1");
            return out != null && out.contains("ABORTED") ? out : null;
        });
        long abortMs = (System.nanoTime() - killedAt) / 1_000_000;
        System.out.println("MigrationFailureIT: ABORTED seen " + abortMs + " ms after the kill:\n" + aborted);
        agents.log("a1").lines().filter(l -> l.contains("migration aborted") || l.contains("restored on its source"))
                .forEach(l -> System.out.println("MigrationFailureIT: a1: " + l));
        assertThat(aborted).contains(id).contains("a1").contains("abort reason");
        assertThat(ownerLine(aborted, "mem1")).as("the cluster gives it back to its source").contains(" a1 ");
        agents.await(Duration.ofSeconds(30), "mem1 running on a1 again", () -> agents.running("a1", "mem1") ? true : null);
        // Eventually, not at once: when the killed a3 was the Raft leader, a1's lease may lapse
        // during the election and drop the address, which a1 claims again once it has a leader.
        agents.await(Duration.ofSeconds(30), "the floating IP back on a1", () -> {
            try {
                return agents.holds("a1", ip) ? true : null;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        long[] after = agents.memhog(ip);
        assertThat(after[1]).as("restored from its dump, not restarted").isEqualTo(before[1]);
        assertThat(after[0]).as("its loop went on").isGreaterThan(before[0]);

        assertThat(Files.exists(incoming)).as("the partial image is still on the dead a3's disk").isTrue();
        // The restore a3 began ahead of the image (its CRIU waiting for it) ended with a3.
        agents.await(Duration.ofSeconds(30), "a3's restore begun ahead of the image to end with a3",
                () -> agents.runc("a3").find("mem1").isEmpty() ? true : null);
        // What a destination killed during RESTORE would also leave: a copy of the container in its runc.
        agents.runc("a3").run("mem1", Workloads.bundle(agents.base.resolve("leftover-bundle"), "tickserver",
                BundleSpec.of(List.of("/bin/tickserver", "127.0.0.1", "7400", "7401"), agents.host("a3").netnsPath(),
                        "/migration-mesh/" + agents.cluster + "-a3/leftover")));
        assertThat(agents.running("a3", "mem1")).isTrue();
        agents.start("a3");
        long restartedAt = System.nanoTime();
        agents.await(Duration.ofSeconds(90), "a3 to remove the leftovers of " + id,
                () -> !Files.exists(incoming) && agents.runc("a3").find("mem1").isEmpty() && sweptLogged("a3") ? true : null);
        long cleanedMs = (System.nanoTime() - restartedAt) / 1_000_000;
        assertThat(agents.runDir("a3").resolve("migrations").resolve(id)).doesNotExist();
        Thread.sleep(3000); // a few reconcile periods of a3: it must still not start a copy
        System.out.println("MigrationFailureIT: a3 removed the partial image " + cleanedMs + " ms after its restart: "
                + agents.log("a3").lines().filter(l -> l.contains("leftovers")).toList());
        assertThat(agents.runc("a3").find("mem1")).as("no copy on a3").isEmpty();
        assertThat(agents.runc("a2").find("mem1")).as("no copy on a2").isEmpty();
        assertThat(agents.running("a1", "mem1")).as("the one copy, on a1").isTrue();
        assertThat(agents.holds("a3", ip)).as("the address left on the restarted a3; its log on addresses: %s",
                agents.log("a3").lines().filter(l -> l.contains(ip) || l.toLowerCase(java.util.Locale.ROOT).contains("floating"))
                        .toList()).isFalse();
        assertThat(ownerLine(agents.ps("a3", "mem1"), "mem1")).contains(" a1 ");
        assertThat(agents.memhog(ip)[1]).isEqualTo(before[1]);
    }

    /**
     * kill -9 of the destination while runc restores the container there: the restore goes on
     * without its agent, so a3 ends up with a copy (and the floating IP) that the cluster never
     * gave it, while the source aborts and restores its own. When a3 comes back it deletes that
     * copy and drops the address: one running copy, on a1, where the cluster says.
     */
    @Test
    void aDestinationKilledDuringRestoreDropsItsCopyWhenBack() throws Exception {
        agents = new HostAgents("fk", 3);
        agents.awaitMembers(3);
        String ip = runMemhogOnA1(300);
        long[] before = agents.memhog(ip);

        String id = "mig-" + UUID.randomUUID().toString().substring(0, 8);
        HostAgents.Result migrate = agents.agentctl("a2", "migrate", "mem1", "--to", "a3", "--id", id);
        assertThat(migrate.exit()).as(migrate.err()).isZero();
        // CRIU writes its log as its restore starts (runc starts earlier, while the image is on its
        // way, and its CRIU waits for it: a3 killed then leaves nothing, as the test above shows).
        Path criuLog = agents.runDir("a3").resolve("migrations").resolve(id).resolve("restore-work").resolve("restore.log");
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!Files.exists(criuLog)) {
            if (System.nanoTime() > deadline) throw new AssertionError("a3 never started a restore\n" + agents.logTails());
            Thread.sleep(5);
        }
        agents.kill("a3");
        String aborted = agents.await(Duration.ofSeconds(90), "the migration to abort", () -> {
            String out = agents.ps("a2", "mem1");
            return out != null && out.contains("ABORTED") ? out : null;
        });
        System.out.println("MigrationFailureIT: a3 killed during its restore:\n" + aborted);
        assertThat(ownerLine(aborted, "mem1")).contains(" a1 ");
        agents.await(Duration.ofSeconds(30), "mem1 running on a1 again", () -> agents.running("a1", "mem1") ? true : null);
        agents.log("a1").lines().filter(l -> l.contains("migration aborted"))
                .forEach(l -> System.out.println("MigrationFailureIT: a1: " + l));
        agents.await(Duration.ofSeconds(30), "the orphaned restore on a3 to end",
                () -> agents.runc("a3").find("mem1").map(st -> !st.status().equals("creating")).orElse(true) ? true : null);
        System.out.println("MigrationFailureIT: left on the dead a3: " + agents.runc("a3").find("mem1") + ", holds "
                + ip + ": " + agents.holds("a3", ip));
        assertThat(agents.runc("a3").find("mem1")).as("the restore went on without its agent (what this test is about)")
                .isPresent();

        agents.start("a3");
        long restartedAt = System.nanoTime();
        agents.await(Duration.ofSeconds(90), "a3 to delete its copy of mem1",
                () -> agents.runc("a3").find("mem1").isEmpty() && sweptLogged("a3") ? true : null);
        long cleanedMs = (System.nanoTime() - restartedAt) / 1_000_000;
        agents.await(Duration.ofSeconds(30), "a3 to drop " + ip, () -> {
            try {
                return agents.holds("a3", ip) ? null : true;
            } catch (IOException e) {
                return null;
            }
        });
        System.out.println("MigrationFailureIT: a3 deleted its copy " + cleanedMs + " ms after its restart: "
                + agents.log("a3").lines().filter(l -> l.contains("leftovers")).toList());
        assertThat(agents.running("a1", "mem1")).isTrue();
        assertThat(agents.holds("a1", ip)).isTrue();
        assertThat(ownerLine(agents.ps("a3", "mem1"), "mem1")).contains(" a1 ");
        long[] after = agents.memhog(ip);
        assertThat(after[1]).as("the copy on a1 is the process that was dumped").isEqualTo(before[1]);
    }

    private boolean sweptLogged(String agent) {
        try {
            return agents.log(agent).contains("removed leftovers of ended migrations");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A byte flipped in one chunk after its CRC was computed (the failpoint of the sending
     * agent): a1 damages one chunk, the destination refuses it, a1 resends from the last verified
     * chunk and the migration commits. a2 damages every send: after the last resend the
     * migration aborts saying so, and the container keeps running on a2. One TCP client throughout.
     */
    @Test
    void aDamagedChunkIsResentAndPersistentDamageAborts() throws Exception {
        agents = new HostAgents("fc", 3, Map.of(
                "a1", Map.of("MM_FAILPOINTS", "transfer.corrupt-chunk=1"),
                "a2", Map.of("MM_FAILPOINTS", "transfer.corrupt-chunk=always")));
        agents.awaitMembers(3);
        String ip = agents.net.newFloatingAddress();
        ProbeProcess client = tickServerWithClient(ip, 40);
        try {
            HostAgents.Result once = agents.agentctl("a3", "migrate", "tick1", "--to", "a2", "--watch");
            assertThat(once.exit()).as("one damaged chunk is survived: " + once.out() + once.err() + agents.logTails()).isZero();
            assertThat(once.out()).contains("COMMITTED").containsPattern("resent +1x +after the destination refused a damaged chunk");
            System.out.println("MigrationFailureIT: a1 -> a2 with one damaged chunk:\n" + once.out());
            String a1 = agents.log("a1");
            // refused by its CRC32C, or, when the flipped byte lies in a compressed payload, by zstd's own checks
            assertThat(a1).contains("failpoint transfer.corrupt-chunk").contains("refused a damaged chunk").contains("CORRUPT_CHUNK")
                    .containsAnyOf("CRC32C", "does not decompress");
            a1.lines().filter(l -> l.contains("damaged") || l.contains("failpoint")).forEach(l -> System.out.println("MigrationFailureIT: a1: " + l));
            assertThat(agents.running("a2", "tick1")).isTrue();
            assertThat(agents.runc("a1").find("tick1")).isEmpty();

            HostAgents.Result always = agents.agentctl("a1", "migrate", "tick1", "--to", "a3", "--watch");
            System.out.println("MigrationFailureIT: a2 -> a3 with every send damaged:\n" + always.out() + always.err());
            assertThat(always.exit()).as("persistent damage aborts: " + always.out() + always.err()).isEqualTo(5);
            assertThat(always.out()).contains("ABORTED").contains("FREEZE of container tick1 (a2 -> a3) failed")
                    .contains("CORRUPT_CHUNK");
            agents.log("a2").lines().filter(l -> l.contains("migration aborted"))
                    .forEach(l -> System.out.println("MigrationFailureIT: a2: " + l));
            assertThat(agents.log("a2").split("refused a damaged chunk", -1).length - 1)
                    .as("resent before giving up").isEqualTo(2);
            agents.await(Duration.ofSeconds(30), "tick1 running on a2 again", () -> agents.running("a2", "tick1") ? true : null);
            assertThat(agents.runc("a3").find("tick1")).isEmpty();
            assertThat(agents.holds("a2", ip)).isTrue();
            assertThat(ownerLine(agents.ps("a1", "tick1"), "tick1")).contains(" a2 ");
            assertClientLasted(client, 40);
        } finally {
            client.close();
        }
    }

    /**
     * The restore fails on the destination for real: its runc already has a container with the
     * same id. ABORT, with the error saying which phase, container and agents; the container
     * runs on at its source and its client stays connected.
     */
    @Test
    void aFailedRestoreAbortsAndTheContainerRunsOnAtItsSource() throws Exception {
        agents = new HostAgents("fr", 2);
        agents.awaitMembers(2);
        String ip = agents.net.newFloatingAddress();
        ProbeProcess client = tickServerWithClient(ip, 25);
        try {
            // The same id in a2's runc root, as a leftover would be; it binds nothing of tick1's.
            Path decoy = Workloads.bundle(agents.base.resolve("decoy-bundle"), "tickserver", BundleSpec.of(
                    List.of("/bin/tickserver", "127.0.0.1", "7400", "7401"), agents.host("a2").netnsPath(),
                    "/migration-mesh/" + agents.cluster + "-a2/decoy"));
            agents.runc("a2").run("tick1", decoy);

            HostAgents.Result migrate = agents.agentctl("a1", "migrate", "tick1", "--to", "a2", "--watch");
            System.out.println("MigrationFailureIT: restore on a2 fails:\n" + migrate.out() + migrate.err());
            assertThat(migrate.exit()).as("an aborted migration exits 5").isEqualTo(5);
            assertThat(migrate.out()).contains("ABORTED").contains("RESTORE of container tick1 (a1 -> a2) failed")
                    .contains("agent a2 could not restore");
            Matcher reportLine = Pattern.compile("abort reason: .*").matcher(migrate.out());
            assertThat(reportLine.find()).isTrue();

            agents.await(Duration.ofSeconds(30), "tick1 running on a1 again", () -> agents.running("a1", "tick1") ? true : null);
            agents.log("a1").lines().filter(l -> l.contains("migration aborted"))
                    .forEach(l -> System.out.println("MigrationFailureIT: a1: " + l));
            assertThat(agents.holds("a1", ip)).isTrue();
            assertThat(agents.holds("a2", ip)).isFalse();
            assertThat(ownerLine(agents.ps("a2", "tick1"), "tick1")).contains(" a1 ");
            assertClientLasted(client, 25);
            assertThat(agents.running("a2", "tick1")).as("no second copy on a2").isFalse();
        } finally {
            client.close();
        }
    }

    private ProbeProcess tickServerWithClient(String ip, int seconds) throws Exception {
        HostAgents.Result run = agents.agentctl("a1", "run", "tick1", "--owner", "a1", "--ip", ip, "--workload",
                "tickserver", "--", "/bin/tickserver", ip, "7000", "7001");
        assertThat(run.exit()).as(run.err()).isZero();
        agents.await(Duration.ofSeconds(30), "tick1 running on a1", () -> agents.running("a1", "tick1") ? true : null);
        Path probe = Workloads.extract("mmprobe", agents.base.resolve("mmprobe"));
        ProbeProcess client = new ProbeProcess(agents.net.start(agents.client, probe.toString(), "tcp", ip, "7000",
                Integer.toString(seconds)));
        agents.await(Duration.ofSeconds(20), "the client to see ticks", () -> Ticks.of(client.lines()).size() >= 10 ? true : null);
        return client;
    }

    private static void assertClientLasted(ProbeProcess client, int seconds) throws InterruptedException {
        assertThat(client.awaitEnd(Duration.ofSeconds(seconds + 30))).isTrue();
        List<String> lines = client.lines();
        assertThat(lines).as("the client's TCP connection lasted: " + lines.subList(Math.max(0, lines.size() - 5),
                lines.size())).last().isEqualTo("end ok");
        Ticks ticks = Ticks.of(lines);
        assertThat(ticks.starts()).as("one process: continued, not restarted").isEqualTo(1);
        assertThat(ticks.consecutive()).as("the tick counter went on: " + ticks).isTrue();
        System.out.println("MigrationFailureIT: longest gaps the client saw (ms): "
                + ticks.gapsLongestFirst().subList(0, Math.min(3, ticks.size() - 1)));
    }

    /** The container's row of `agentctl ps` (padded with spaces so " a1 " matches a column). */
    private static String ownerLine(String ps, String container) {
        assertThat(ps).isNotNull();
        return ps.lines().filter(l -> l.startsWith(container + " ")).findFirst().map(l -> l + " ").orElse("");
    }

    private static List<Path> staging(Path incoming) {
        if (!Files.isDirectory(incoming)) return List.of();
        try (Stream<Path> s = Files.list(incoming)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".staging-round-")).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static long bytesUnder(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }

    /** Runs memhog (MB, 256 dirty pages/s, answering on UDP) as mem1 on a1 with a fresh floating IP; returns the IP. */
    private String runMemhogOnA1(int mb) throws Exception {
        String ip = agents.net.newFloatingAddress();
        HostAgents.Result run = agents.agentctl("a1", "run", "mem1", "--owner", "a1", "--ip", ip, "--workload", "memhog",
                "--", "/bin/memhog", Integer.toString(mb), "256", ip, "7001");
        assertThat(run.exit()).as(run.err()).isZero();
        agents.await(Duration.ofSeconds(30), "mem1 running on a1", () -> agents.running("a1", "mem1") ? true : null);
        return ip;
    }
}
