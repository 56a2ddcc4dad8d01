package org.migrationmesh.agent.sim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenArena dedicated server as a test workload: its prepared rootfs (built by
 * scripts/build-openarena-rootfs.sh if missing: a test fails, not skips, without it), its
 * command line, and readers for what quakestat and its game log show.
 */
public final class OpenArena {
    public static final Path ROOTFS = Path.of(System.getenv().getOrDefault("MM_OPENARENA_ROOTFS",
            "/var/lib/migration-mesh/images/openarena/rootfs"));
    public static final String SERVER = "/usr/lib/ioquake3/ioq3ded";
    public static final int PORT = 27960;
    /** The game log inside the container (g_log on the tmpfs /tmp), read from the host via /proc/PID/root. */
    public static final String GAMES_LOG = "tmp/oa/baseoa/games.log";
    private static final List<String> BOT_NAMES = List.of("Angelyss", "Ghost", "Tanisha", "Dark", "Skelebot", "Nekoyss");
    private static final Pattern LOG_TIME = Pattern.compile("^\\s*(\\d+):(\\d\\d) ");

    private OpenArena() {}

    /**
     * Makes sure the rootfs and quakestat are there, running the build script (found in the
     * repository above the working directory) if the rootfs' stamp is missing; fails saying what
     * is missing otherwise.
     */
    public static void ensureRootfs() throws IOException, InterruptedException {
        Path stamp = ROOTFS.resolveSibling(ROOTFS.getFileName() + ".stamp");
        if (!Files.exists(stamp)) {
            Path script = Repository.file("scripts/build-openarena-rootfs.sh");
            System.out.println("[openarena] no " + stamp + ": running " + script);
            Process p = new ProcessBuilder("bash", script.toString()).inheritIO().start();
            if (p.waitFor() != 0) throw new IllegalStateException(script + " failed (exit " + p.exitValue() + "); the rootfs is needed");
        }
        if (!Files.isExecutable(ROOTFS.resolve(SERVER.substring(1)))) {
            throw new IllegalStateException("no server binary " + SERVER + " in " + ROOTFS + "; run scripts/build-openarena-rootfs.sh");
        }
        Process q = new ProcessBuilder("sh", "-c", "command -v quakestat").start();
        if (q.waitFor() != 0) {
            throw new IllegalStateException("no quakestat (package qstat) on the host; run scripts/build-openarena-rootfs.sh");
        }
    }

    /**
     * The server's command (from PLATFORM.md): bound to {@code ip}, {@code bots} bots (skill 2) on
     * oa_dm1, no frag limit, rcon for the probe, and the game log flushed per line (its lines carry the
     * level time).
     */
    public static List<String> serverArgs(String ip, String rconPassword, int bots) {
        List<String> a = new ArrayList<>(List.of(SERVER));
        String[][] cvars = {{"com_basegame", "baseoa"}, {"fs_basepath", "/usr/lib/openarena-server"},
                {"fs_homepath", "/tmp/oa"}, {"com_protocol", "71"}, {"com_legacyprotocol", "71"}, {"dedicated", "1"},
                {"net_enabled", "1"}, {"net_ip", ip}, {"net_port", Integer.toString(PORT)}, {"ttycon", "0"},
                {"bot_minplayers", Integer.toString(bots)}, {"fraglimit", "0"}, {"rconpassword", rconPassword},
                {"g_logSync", "1"}};
        for (String[] c : cvars) a.addAll(List.of("+set", c[0], c[1]));
        a.addAll(List.of("+map", "oa_dm1"));
        // Added at once (bot_minplayers alone adds them one by one over ~20 s).
        for (int i = 0; i < bots; i++) a.addAll(List.of("+addbot", BOT_NAMES.get(i % BOT_NAMES.size()), "2"));
        return a;
    }

    /** quakestat -P prints a line per player: "  0 frags   0ms Angelyss". */
    public static int playerLines(String quakestat) {
        return (int) quakestat.lines().filter(l -> l.matches("\\s+-?\\d+ frags\\s+\\d+ms .*")).count();
    }

    /** The level time (seconds) of the game log's last timed line ("  1:23 Kill: ..."), if readable. */
    public static OptionalInt lastLevelSecond(int serverPid) {
        List<String> log;
        try {
            log = Files.readAllLines(gamesLog(serverPid));
        } catch (IOException e) {
            return OptionalInt.empty();
        }
        for (int i = log.size() - 1; i >= 0; i--) {
            Matcher m = LOG_TIME.matcher(log.get(i));
            if (m.find()) return OptionalInt.of(Integer.parseInt(m.group(1)) * 60 + Integer.parseInt(m.group(2)));
        }
        return OptionalInt.empty();
    }

    /** How many times the level was initialised, per the game log (1: loaded once, never restarted). */
    public static long levelInits(int serverPid) throws IOException {
        return Files.readAllLines(gamesLog(serverPid)).stream().filter(l -> l.contains("InitGame:")).count();
    }

    public static Path gamesLog(int serverPid) {
        return Path.of("/proc", Integer.toString(serverPid), "root").resolve(GAMES_LOG);
    }

    /** Resident memory of a process, kB. */
    public static long rssKb(int pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status")).stream()
                .filter(l -> l.startsWith("VmRSS:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst()
                .orElse(-1);
    }
}
