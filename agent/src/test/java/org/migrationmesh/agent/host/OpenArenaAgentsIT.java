package org.migrationmesh.agent.host;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.runtime.Workloads;
import org.migrationmesh.agent.sim.GameProbe;
import org.migrationmesh.agent.sim.OpenArena;
import org.migrationmesh.agent.sim.ProbeProcess;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenArena server run by the agents from the prepared rootfs (`agentctl run --rootfs`) and
 * moved by `agentctl migrate` to the other agent while a client queries it every 20 ms: it
 * answers again from the new host with its bots and the same level, whose time went on. Also:
 * an agent refuses a rootfs that is not on it, naming the directory.
 */
class OpenArenaAgentsIT {
    private static final int BOTS = 3;
    private static final int PROBE_SOURCES = 50;
    /** agentctl's exit code for a refusal (FAILED_PRECONDITION), ExitCodes.REFUSED. */
    private static final int EXIT_REFUSED = 5;
    private HostAgents agents;
    private ProbeProcess probe;

    @BeforeAll
    static void rootfs() throws Exception {
        OpenArena.ensureRootfs();
    }

    @AfterEach
    void tearDown() {
        if (probe != null) probe.close();
        if (agents != null) agents.close();
    }

    @Test
    void agentsRunTheServerFromItsRootfsAndMigrateItWithItsLevel() throws Exception {
        agents = new HostAgents("oag", 2);
        agents.await(Duration.ofSeconds(90), "two members with a runtime", () -> {
            try {
                HostAgents.Result r = agents.agentctl("a2", "members");
                return r.exit() == 0 && r.out().split("criu 4", -1).length == 3 ? r : null;
            } catch (Exception e) {
                return null;
            }
        });

        String missing = "/nonexistent-" + UUID.randomUUID();
        HostAgents.Result refused = agents.agentctl("a1", "run", "oa-missing", "--rootfs", missing, "--", "/bin/true");
        assertThat(refused.exit()).as(refused.err()).isEqualTo(EXIT_REFUSED);
        assertThat(refused.err()).contains("rootfs " + missing + " does not exist on this host").contains("agent=a1");

        String ip = agents.net.newFloatingAddress();
        String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(8));
        List<String> run = new ArrayList<>(List.of("run", "oa1", "--ip", ip, "--rootfs", OpenArena.ROOTFS.toString(), "--"));
        run.addAll(OpenArena.serverArgs(ip, password, BOTS));
        HostAgents.Result started = agents.agentctl("a1", run.toArray(String[]::new));
        assertThat(started.exit()).as(started.err()).isZero();
        agents.await(Duration.ofSeconds(30), "oa1 running on a1", () -> agents.running("a1", "oa1") ? true : null);

        String seen = agents.await(Duration.ofSeconds(60), "quakestat to show " + BOTS + " bots", () -> {
            String q = quakestat(ip);
            return OpenArena.playerLines(q) >= BOTS ? q : null;
        });
        assertThat(seen).contains("oa_dm1");

        String base = agents.client.address().substring(0, agents.client.address().lastIndexOf('.') + 1);
        for (int i = 0; i < PROBE_SOURCES; i++) agents.net.addAddress(agents.client, base + (100 + i));
        List<String> argv = new ArrayList<>(List.of(probeBinary().toString()));
        argv.addAll(GameProbe.args(ip, OpenArena.PORT, 20, 90, password, base + "100", PROBE_SOURCES));
        probe = new ProbeProcess(agents.net.start(agents.client, argv.toArray(String[]::new)));
        List<String> lines = probe.lines();
        agents.await(Duration.ofSeconds(15), "100 probe replies", () -> GameProbe.of(lines).replies().size() >= 100 ? true : null);
        int pidA = agents.runc("a1").state("oa1").pid();
        int levelBefore = OpenArena.lastLevelSecond(pidA).orElseThrow();
        int repliesBefore = GameProbe.of(lines).replies().size();

        HostAgents.Result migrate = agents.agentctl("a2", "migrate", "oa1", "--to", "a2", "--watch");
        assertThat(migrate.exit()).as("migrate: " + migrate.out() + migrate.err() + agents.logTails()).isZero();
        assertThat(migrate.out()).contains("COMMIT");
        agents.await(Duration.ofSeconds(30), "oa1 running on a2", () -> agents.running("a2", "oa1") ? true : null);
        assertThat(agents.running("a1", "oa1")).as("only the new owner runs it").isFalse();
        int pidB = agents.runc("a2").state("oa1").pid();
        agents.await(Duration.ofSeconds(15), "100 probe replies after the migration",
                () -> GameProbe.of(lines).replies().size() >= repliesBefore + 100 ? true : null);
        agents.await(Duration.ofSeconds(15), "the level time to pass " + levelBefore + " s",
                () -> OpenArena.lastLevelSecond(pidB).orElse(-1) > levelBefore ? true : null);
        String after = quakestat(ip);
        probe.terminate();
        assertThat(probe.awaitEnd(Duration.ofSeconds(10))).isTrue();

        GameProbe game = GameProbe.of(lines);
        GameProbe.Gap gap = game.longestGap().orElseThrow();
        System.out.println("[openarena-agents] agentctl migrate printed:\n" + migrate.out());
        System.out.printf("[openarena-agents] prober gap %d ms, level time %d s before -> %d s after, %s%n", gap.millis(),
                levelBefore, OpenArena.lastLevelSecond(pidB).orElse(-1), game.summary().map(Object::toString).orElse("-"));
        assertThat(OpenArena.playerLines(after)).as("quakestat after the migration: " + after).isGreaterThanOrEqualTo(BOTS);
        assertThat(game.levelStarts()).as("one level start time throughout: migrated, not restarted").hasSize(1);
        assertThat(game.firstAfter(gap.fromMillis()).orElseThrow().players()).isGreaterThanOrEqualTo(BOTS);
        assertThat(OpenArena.levelInits(pidB)).as("the level was initialised once, on a1").isEqualTo(1);
        assertThat(game.summary()).isPresent();
    }

    private String quakestat(String ip) {
        try {
            return agents.net.exec(agents.client, Duration.ofSeconds(10), "quakestat", "-q3s", ip + ":" + OpenArena.PORT,
                    "-P", "-R").stdout();
        } catch (IOException e) {
            throw new AssertionError("quakestat failed", e);
        }
    }

    private Path probeBinary() throws IOException {
        Path p = agents.base.resolve("mmprobe");
        return Files.exists(p) ? p : Workloads.extract("mmprobe", p);
    }
}
