package org.migrationmesh.agent.tour;

import org.migrationmesh.agent.runtime.BundleSpec;
import org.migrationmesh.agent.runtime.PreparedRootfs;
import org.migrationmesh.agent.runtime.Workloads;
import org.migrationmesh.agent.sim.GameProbe;
import org.migrationmesh.agent.sim.OpenArena;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server the tour carries around: how agentctl runs it on its floating IP, how the prober
 * (mmprobe, in the client's namespace) asks it, and how a reply shows it went on.
 */
public enum GameServer {
    /** The built-in tick server: its UDP port answers "seq N tick K start S". */
    TICKSERVER(7001) {
        @Override
        List<String> command(String ip) {
            return List.of("/bin/tickserver", ip, "7000", Integer.toString(port));
        }

        @Override
        List<ClientView.Reply> replies(List<String> lines) {
            return udpReplies(TICK_REPLY, lines);
        }

        @Override
        String counterName() {
            return "tick";
        }
    },

    /**
     * The memory workload: memhog holding {@link #memhogMb} MB of incompressible pages and
     * rewriting {@link #dirtyPagesPerSecond} of them a second, answering on UDP with its round
     * counter: the scale of the seed's 351 MB pre-dump.
     */
    MEMHOG(7001) {
        @Override
        List<String> command(String ip) {
            return List.of("/bin/memhog", Integer.toString(memhogMb), Integer.toString(dirtyPagesPerSecond), ip,
                    Integer.toString(port));
        }

        @Override
        List<ClientView.Reply> replies(List<String> lines) {
            return udpReplies(MEMHOG_REPLY, lines);
        }

        @Override
        String counterName() {
            return "round";
        }
    },

    /**
     * The OpenArena dedicated server (ioq3ded) from Debian, three bots on oa_dm1, from the
     * read-only rootfs of scripts/build-openarena-rootfs.sh. The prober asks "rcon status" from
     * a ring of source addresses (the server answers each address once a second) and getstatus
     * now and then; the level's start time (g_timestamp) identifies the level: a restarted
     * server would show a new one.
     */
    OPENARENA(OpenArena.PORT) {
        static final String RCON = "tour";
        static final int BOTS = 3;

        @Override
        List<String> command(String ip) {
            return OpenArena.serverArgs(ip, RCON, BOTS);
        }

        @Override
        List<String> runArgs(String ip) {
            List<String> a = new ArrayList<>(List.of("--rootfs", OpenArena.ROOTFS.toString(), "--ip", ip, "--"));
            a.addAll(command(ip));
            return a;
        }

        @Override
        Path bundle(Path dir, BundleSpec spec) throws IOException {
            return PreparedRootfs.bundle("openarena", dir, OpenArena.ROOTFS, spec);
        }

        @Override
        int probeSources(int intervalMs) {
            return (1000 + intervalMs - 1) / intervalMs;
        }

        @Override
        List<String> probeArgs(String ip, int intervalMs, int seconds, List<String> sources) {
            return GameProbe.args(ip, port, intervalMs, seconds, RCON, sources.get(0), sources.size());
        }

        @Override
        List<ClientView.Reply> replies(List<String> lines) {
            List<ClientView.Reply> out = new ArrayList<>();
            String level = GameProbe.UNKNOWN;
            for (GameProbe.Reply r : GameProbe.of(lines).replies()) {
                if (!r.levelStart().equals(GameProbe.UNKNOWN)) level = r.levelStart();
                if (!level.equals(GameProbe.UNKNOWN)) out.add(new ClientView.Reply(r.atMillis(), -1, -1, level));
            }
            return out;
        }

        @Override
        String counterName() {
            return "level";
        }

        @Override
        void prepare() throws IOException, InterruptedException {
            OpenArena.ensureRootfs();
        }

        @Override
        long progress(int pid) {
            return OpenArena.lastLevelSecond(pid).orElse(-1);
        }
    };

    /** Size and dirty rate of {@link #MEMHOG}, set from the command line before use. */
    static volatile int memhogMb = 400;
    static volatile int dirtyPagesPerSecond = 1000;

    final int port;

    GameServer(int port) {
        this.port = port;
    }

    /** mmprobe udp's replies, "<ms> seq <n> ...": groups ms, seq, counter, identity. */
    private static final Pattern TICK_REPLY = Pattern.compile("^(\\d+) seq (\\d+) tick (\\d+) start (\\d+)$");
    private static final Pattern MEMHOG_REPLY = Pattern.compile("^(\\d+) seq (\\d+) rounds (\\d+) dirtied \\d+ start (\\d+)$");

    /** The server's command line inside its container, bound to {@code ip}. */
    abstract List<String> command(String ip);

    /** The built-in workload's name (tickserver, memhog): its binary in the agent's jar. */
    String workload() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Writes a bundle for the server with {@code spec} (its command among it) into {@code dir}. */
    Path bundle(Path dir, BundleSpec spec) throws IOException {
        return Workloads.bundle(dir, workload(), spec);
    }

    /** agentctl run's arguments after the container id. */
    List<String> runArgs(String ip) {
        List<String> a = new ArrayList<>(List.of("--workload", workload(), "--ip", ip, "--"));
        a.addAll(command(ip));
        return a;
    }

    /** mmprobe's arguments; {@code sources} are the client's addresses it may send from. */
    List<String> probeArgs(String ip, int intervalMs, int seconds, List<String> sources) {
        return List.of("udp", ip, Integer.toString(port), Integer.toString(intervalMs), Integer.toString(seconds));
    }

    private static List<ClientView.Reply> udpReplies(Pattern reply, List<String> lines) {
        List<ClientView.Reply> out = new ArrayList<>();
        for (String l : lines) {
            Matcher m = reply.matcher(l);
            if (m.matches()) {
                out.add(new ClientView.Reply(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                        Long.parseLong(m.group(3)), m.group(4)));
            }
        }
        return out;
    }

    /** How many source addresses the prober needs at this interval. */
    int probeSources(int intervalMs) {
        return 0;
    }

    /**
     * The server's own progress as its host sees it (OpenArena: the level time of its game log,
     * in seconds), -1 if it has none; it must rise across a migration.
     */
    long progress(int pid) {
        return -1;
    }

    /** How long the server's own clock may take to show it went on after a leg ({@link #progressPast}). */
    static final java.time.Duration PROGRESS_WAIT = java.time.Duration.ofSeconds(10);

    /**
     * {@link #progress} once it is past {@code before}, waiting up to {@code timeout}: the game
     * log gets a timed line only when something happens in the game (a kill, an item taken), and
     * three bots can go two seconds without one. Returns what it last read (not past
     * {@code before} if the server did not go on); at once for a server without progress.
     */
    long progressPast(int pid, long before, java.time.Duration timeout) throws InterruptedException {
        return progressPast(() -> progress(pid), before, timeout);
    }

    /** {@link #progressPast(int, long, java.time.Duration)} of a server whose progress {@code progress} reads. */
    static long progressPast(java.util.function.LongSupplier progress, long before, java.time.Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long now = progress.getAsLong();
        while (before >= 0 && now <= before && System.nanoTime() < deadline) {
            Thread.sleep(100);
            now = progress.getAsLong();
        }
        return now;
    }

    /** Makes what the server needs on this machine (e.g. its rootfs); fails saying what is missing. */
    void prepare() throws IOException, InterruptedException {
    }

    /** The replies among the prober's lines, in order. */
    abstract List<ClientView.Reply> replies(List<String> lines);

    /** What the server's counter counts, for the report. */
    abstract String counterName();
}
