package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.sim.GameProbe;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.agent.sim.SimulatedNetwork;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    static final Path ROOTFS = Path.of(System.getenv().getOrDefault("MM_OPENARENA_ROOTFS",
            "/var/lib/migration-mesh/images/openarena/rootfs"));
    static final int PORT = 27960;
    static final int BOTS = 3;
    static final int PROBE_SOURCES = 50;
    private static final Pattern LOG_TIME = Pattern.compile("^\\s*(\\d+):(\\d\\d) ");

    private RuntimeFixture fx;
    private ProbeProcess probe;

    @BeforeAll
    static void rootfs() throws Exception {
        Path stamp = ROOTFS.resolveSibling(ROOTFS.getFileName() + ".stamp");
        if (!Files.exists(stamp)) {
            Path script = repoFile("scripts/build-openarena-rootfs.sh");
            System.out.println("[openarena] no " + stamp + ": running " + script);
            Process p = new ProcessBuilder("bash", script.toString()).inheritIO().start();
            assertThat(p.waitFor()).as(script + " failed; the rootfs is needed").isZero();
        }
        assertThat(ROOTFS.resolve("usr/lib/ioquake3/ioq3ded")).as("the server binary in the rootfs").isExecutable();
        Process q = new ProcessBuilder("sh", "-c", "command -v quakestat").start();
        assertThat(q.waitFor()).as("quakestat (package qstat) on the host; run scripts/build-openarena-rootfs.sh").isZero();
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
        BundleSpec spec = BundleSpec.of(serverArgs(ip, password), fx.a.netnsPath(), fx.cgroupParent + "/a/" + id);
        Path bundleA = PreparedRootfs.bundle(id, fx.dir.resolve("bundles/a").resolve(id), ROOTFS, spec);
        ContainerState started = fx.runcA.run(id, bundleA);
        assertThat(started.running()).isTrue();
        Path gamesLog = Path.of("/proc", Integer.toString(started.pid()), "root/tmp/oa/baseoa/games.log");

        String[] seen = {""};
        waitFor(() -> playerLines(seen[0] = quakestat(ip)) >= BOTS, Duration.ofSeconds(60),
                () -> "quakestat to show the server with " + BOTS + " bots: " + seen[0]);
        System.out.println("[openarena] quakestat -q3s " + ip + ":" + PORT + " -P -R before the checkpoint:\n" + seen[0]);
        assertThat(seen[0]).contains("oa_dm1");
        System.out.printf("[openarena] ioq3ded rss %d kB%n", rssKb(started.pid()));

        // The client queries from 50 addresses of its own: ioq3 answers one query per second per address.
        String base = fx.client.address().substring(0, fx.client.address().lastIndexOf('.') + 1);
        for (int i = 0; i < PROBE_SOURCES; i++) fx.net.addAddress(fx.client, base + (100 + i));
        probe = new ProbeProcess(fx.net.start(fx.client, argv(fx.probe(),
                GameProbe.args(ip, PORT, 20, 60, password, base + "100", PROBE_SOURCES))));
        List<String> lines = probe.lines();
        waitFor(() -> GameProbe.of(lines).statusReplies().size() >= 3 && GameProbe.of(lines).replies().size() >= 100,
                Duration.ofSeconds(15), () -> "the probe to see 100 replies: " + tail(lines));
        OptionalInt levelTimeBefore = lastLevelSecond(gamesLog);
        assertThat(levelTimeBefore).as("level time in " + gamesLog).isPresent();
        GameProbe.Reply lastBefore = GameProbe.of(lines).replies().get(GameProbe.of(lines).replies().size() - 1);
        int repliesBefore = GameProbe.of(lines).replies().size();

        Path images = fx.dir.resolve("images").resolve(id);
        CheckpointResult dump = fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-dump")));
        assertThat(fx.runcA.find(id)).as("stop-and-copy ends the source container").isEmpty();
        long t0 = System.nanoTime();
        fx.net.removeAddress(fx.a, ip);
        fx.net.addAddress(fx.b, ip);
        long moveMs = (System.nanoTime() - t0) / 1_000_000;
        Path bundleB = PreparedRootfs.bundle(id, fx.dir.resolve("bundles/b").resolve(id), ROOTFS,
                spec.on(fx.b.netnsPath(), fx.cgroupParent + "/b/" + id));
        RestoreResult restored = fx.runcB.restore(id, bundleB, RestoreOptions.of(images, fx.dir.resolve("work-restore")));
        fx.net.announce(fx.b, ip);
        new NetworkLock(fx.runner).remove(fx.a.netns());
        assertThat(fx.runcB.state(id).running()).isTrue();
        Path gamesLogB = Path.of("/proc", Integer.toString(restored.pid()), "root/tmp/oa/baseoa/games.log");

        waitFor(() -> GameProbe.of(lines).replies().size() >= repliesBefore + 100, Duration.ofSeconds(15),
                () -> "the probe to see 100 replies after the restore: " + tail(lines));
        waitFor(() -> lastLevelSecond(gamesLogB).orElse(-1) > levelTimeBefore.getAsInt(), Duration.ofSeconds(15),
                () -> "the level time after the restore to pass " + levelTimeBefore.getAsInt() + " s: "
                        + lastLevelSecond(gamesLogB));
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
                levelTimeBefore.getAsInt(), lastLevelSecond(gamesLogB).orElse(-1), lastBefore.scoreSum(),
                firstAfter.scoreSum(), game.summary().map(Object::toString).orElse("no summary"));

        assertThat(playerLines(after)).as("the restored server and its bots answer quakestat: " + after).isGreaterThanOrEqualTo(BOTS);
        assertThat(game.summary()).as("the probe's summary: " + tail(lines)).isPresent();
        assertThat(game.levelStarts()).as("one level start time throughout: restored, not restarted").hasSize(1);
        assertThat(firstAfter.map()).isEqualTo("oa_dm1");
        assertThat(firstAfter.players()).as("the bots came along").isGreaterThanOrEqualTo(BOTS);
        assertThat(gap.millis()).as("the longest silence is the migration, not the whole run").isLessThan(10_000);
        assertThat(Files.readAllLines(gamesLogB).stream().filter(l -> l.contains("InitGame:")).count())
                .as("the level was initialised once, on host a").isEqualTo(1);
    }

    /** The server's command: from PLATFORM.md, with rcon for the probe and the game log flushed per line. */
    static List<String> serverArgs(String ip, String rconPassword) {
        List<String> a = new ArrayList<>(List.of("/usr/lib/ioquake3/ioq3ded"));
        String[][] cvars = {{"com_basegame", "baseoa"}, {"fs_basepath", "/usr/lib/openarena-server"},
                {"fs_homepath", "/tmp/oa"}, {"com_protocol", "71"}, {"com_legacyprotocol", "71"}, {"dedicated", "1"},
                {"net_enabled", "1"}, {"net_ip", ip}, {"net_port", Integer.toString(PORT)}, {"ttycon", "0"},
                {"bot_minplayers", Integer.toString(BOTS)}, {"fraglimit", "0"}, {"rconpassword", rconPassword},
                {"g_logSync", "1"}};
        for (String[] c : cvars) a.addAll(List.of("+set", c[0], c[1]));
        a.addAll(List.of("+map", "oa_dm1"));
        return a;
    }

    private String quakestat(String ip) {
        try {
            return fx.net.exec(fx.client, Duration.ofSeconds(10), "quakestat", "-q3s", ip + ":" + PORT, "-P", "-R").stdout();
        } catch (IOException e) {
            throw new AssertionError("quakestat failed", e);
        }
    }

    /** quakestat -P prints a player line per player: "  0 frags   0ms Angelyss". */
    static int playerLines(String quakestat) {
        return (int) quakestat.lines().filter(l -> l.matches("\\s+-?\\d+ frags\\s+\\d+ms .*")).count();
    }

    /** The level time (seconds) of the game log's last timed line: "  1:23 Kill: ...". */
    static OptionalInt lastLevelSecond(Path gamesLog) {
        List<String> log;
        try {
            log = Files.readAllLines(gamesLog);
        } catch (IOException e) {
            return OptionalInt.empty();
        }
        for (int i = log.size() - 1; i >= 0; i--) {
            Matcher m = LOG_TIME.matcher(log.get(i));
            if (m.find()) return OptionalInt.of(Integer.parseInt(m.group(1)) * 60 + Integer.parseInt(m.group(2)));
        }
        return OptionalInt.empty();
    }

    private static long rssKb(int pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status")).stream()
                .filter(l -> l.startsWith("VmRSS:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst()
                .orElse(-1);
    }

    private static String[] argv(Path binary, List<String> args) {
        List<String> all = new ArrayList<>();
        all.add(binary.toString());
        all.addAll(args);
        return all.toArray(String[]::new);
    }

    /** {@code relative} in the repository (the test runs in the agent module's directory). */
    static Path repoFile(String relative) {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve(relative))) return d.resolve(relative);
        }
        throw new AssertionError("no " + relative + " above " + Path.of("").toAbsolutePath());
    }
}
