package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.sim.GameProbe;
import org.migrationmesh.agent.sim.OpenArena;
import org.migrationmesh.agent.sim.ProbeProcess;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.migrationmesh.agent.runtime.CheckpointRestoreIT.tail;
import static org.migrationmesh.agent.runtime.CheckpointRestoreIT.waitFor;

/**
 * The OpenArena dedicated server (ioq3ded, from a prepared read-only rootfs shared by both
 * hosts) with three bots, bound to a floating address on host a, checkpointed with CRIU,
 * restored on host b after the address moved there, while a client queries it every 20 ms:
 * it answers again, its level was not restarted (same level start time), and its level time
 * went on from where it was.
 */
class OpenArenaIT {
    static final int BOTS = 3;
    static final int PROBE_SOURCES = 50;

    private RuntimeFixture fx;
    private ProbeProcess probe;

    @BeforeAll
    static void rootfs() throws Exception {
        OpenArena.ensureRootfs();
    }

    @AfterEach
    void tearDown() {
        if (probe != null) probe.close();
        if (fx != null) fx.close();
    }

    @Test
    void serverMovesToAnotherHostAndItsLevelGoesOn() throws Exception {
        fx = new RuntimeFixture("oa");
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        String id = "oa-" + fx.net.prefix();
        String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(8));
        BundleSpec spec = BundleSpec.of(OpenArena.serverArgs(ip, password, BOTS), fx.a.netnsPath(), fx.cgroupParent + "/a/" + id);
        Path bundleA = PreparedRootfs.bundle(id, fx.dir.resolve("bundles/a").resolve(id), OpenArena.ROOTFS, spec);
        ContainerState started = fx.runcA.run(id, bundleA);
        assertThat(started.running()).isTrue();

        String[] seen = {""};
        waitFor(() -> OpenArena.playerLines(seen[0] = quakestat(ip)) >= BOTS, Duration.ofSeconds(60),
                () -> "quakestat to show the server with " + BOTS + " bots: " + seen[0]);
        System.out.println("[openarena] quakestat -q3s " + ip + ":" + OpenArena.PORT + " -P -R before the checkpoint:\n" + seen[0]);
        assertThat(seen[0]).contains("oa_dm1");
        System.out.printf("[openarena] ioq3ded rss %d kB%n", OpenArena.rssKb(started.pid()));

        // The client queries from 50 addresses of its own: ioq3 answers one query per second per address.
        String base = fx.client.address().substring(0, fx.client.address().lastIndexOf('.') + 1);
        for (int i = 0; i < PROBE_SOURCES; i++) fx.net.addAddress(fx.client, base + (100 + i));
        probe = new ProbeProcess(fx.net.start(fx.client, argv(fx.probe(),
                GameProbe.args(ip, OpenArena.PORT, 20, 60, password, base + "100", PROBE_SOURCES))));
        List<String> lines = probe.lines();
        waitFor(() -> GameProbe.of(lines).statusReplies().size() >= 3 && GameProbe.of(lines).replies().size() >= 100,
                Duration.ofSeconds(15), () -> "the probe to see 100 replies: " + tail(lines));
        OptionalInt levelTimeBefore = OpenArena.lastLevelSecond(started.pid());
        assertThat(levelTimeBefore).as("level time in " + OpenArena.gamesLog(started.pid())).isPresent();
        List<GameProbe.Reply> before = GameProbe.of(lines).replies();

        Path images = fx.dir.resolve("images").resolve(id);
        CheckpointResult dump = fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-dump")));
        assertThat(fx.runcA.find(id)).as("stop-and-copy ends the source container").isEmpty();
        long t0 = System.nanoTime();
        fx.net.removeAddress(fx.a, ip);
        fx.net.addAddress(fx.b, ip);
        long moveMs = (System.nanoTime() - t0) / 1_000_000;
        Path bundleB = PreparedRootfs.bundle(id, fx.dir.resolve("bundles/b").resolve(id), OpenArena.ROOTFS,
                spec.on(fx.b.netnsPath(), fx.cgroupParent + "/b/" + id));
        RestoreResult restored = fx.runcB.restore(id, bundleB, RestoreOptions.of(images, fx.dir.resolve("work-restore")));
        fx.net.announce(fx.b, ip);
        new NetworkLock(fx.runner).remove(fx.a.netns());
        assertThat(fx.runcB.state(id).running()).isTrue();

        waitFor(() -> GameProbe.of(lines).replies().size() >= before.size() + 100, Duration.ofSeconds(15),
                () -> "the probe to see 100 replies after the restore: " + tail(lines));
        waitFor(() -> OpenArena.lastLevelSecond(restored.pid()).orElse(-1) > levelTimeBefore.getAsInt(), Duration.ofSeconds(15),
                () -> "the level time after the restore to pass " + levelTimeBefore.getAsInt() + " s: "
                        + OpenArena.lastLevelSecond(restored.pid()));
        String after = quakestat(ip);
        System.out.println("[openarena] quakestat after the restore on host b:\n" + after);
        probe.terminate(); // it prints its summary
        assertThat(probe.awaitEnd(Duration.ofSeconds(10))).isTrue();

        GameProbe game = GameProbe.of(lines);
        GameProbe.Gap gap = game.longestGap().orElseThrow();
        GameProbe.Reply firstAfter = game.firstAfter(gap.fromMillis()).orElseThrow();
        System.out.printf("[openarena] image %.1f MB, checkpoint %d ms (frozen %d ms), ip move %d ms, restore %d ms, "
                        + "prober gap %d ms (%d..%d), level time %d s before -> %d s after, score %d -> %d, %s%n",
                dump.imageBytes() / 1e6, dump.elapsed().toMillis(), dump.frozen().toMillis(), moveMs,
                restored.elapsed().toMillis(), gap.millis(), gap.fromMillis(), gap.toMillis(),
                levelTimeBefore.getAsInt(), OpenArena.lastLevelSecond(restored.pid()).orElse(-1),
                before.get(before.size() - 1).scoreSum(), firstAfter.scoreSum(),
                game.summary().map(Object::toString).orElse("no summary"));

        assertThat(OpenArena.playerLines(after)).as("the restored server and its bots answer quakestat: " + after)
                .isGreaterThanOrEqualTo(BOTS);
        assertThat(game.summary()).as("the probe's summary: " + tail(lines)).isPresent();
        assertThat(game.levelStarts()).as("one level start time throughout: restored, not restarted").hasSize(1);
        assertThat(firstAfter.map()).isEqualTo("oa_dm1");
        assertThat(firstAfter.players()).as("the bots came along").isGreaterThanOrEqualTo(BOTS);
        assertThat(gap.millis()).as("the longest silence is the migration, not the whole run").isLessThan(10_000);
        assertThat(OpenArena.levelInits(restored.pid())).as("the level was initialised once, on host a").isEqualTo(1);
    }

    private String quakestat(String ip) {
        try {
            return fx.net.exec(fx.client, Duration.ofSeconds(10), "quakestat", "-q3s", ip + ":" + OpenArena.PORT, "-P", "-R")
                    .stdout();
        } catch (IOException e) {
            throw new AssertionError("quakestat failed", e);
        }
    }

    static String[] argv(Path binary, List<String> args) {
        List<String> all = new ArrayList<>();
        all.add(binary.toString());
        all.addAll(args);
        return all.toArray(String[]::new);
    }
}
