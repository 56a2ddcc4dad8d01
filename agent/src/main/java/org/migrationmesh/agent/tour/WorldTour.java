package org.migrationmesh.agent.tour;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * The main job: the seed's journey on one machine. Builds the simulated world (a host and an
 * agent per site, regions behind latency relays and shaped uplinks, a client at the core), runs
 * the game server at the local site and migrates it around the world with agentctl while the
 * client's prober asks it every 20 ms; after each leg prints agentctl's report and the client's
 * view (ping before and after, longest gap, requests lost, whether the server went on).
 */
@Command(name = "world-tour", mixinStandardHelpOptions = true,
        description = "Migrate a game server around a simulated world while a client stays connected.")
public final class WorldTour implements Callable<Integer> {
    @Mixin
    TourOptions options;

    private final PrintStream out = System.out;

    public static void main(String[] args) {
        System.exit(new CommandLine(new WorldTour()).setCaseInsensitiveEnumValuesAllowed(true).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        List<Leg> tour = options.tour();
        List<Site> sites = options.sites();
        long started = System.nanoTime();
        GameServer server = options.preparedServer();
        int intervalMs = options.intervalMs;
        try (World world = World.start(sites, options.workRoot, agentJvm(), out)) {
            for (Leg l : tour) world.site(l.to());
            printWorld(world);
            AgentLegs.awaitCluster(world, out);
            String home = sites.get(0).name();
            AgentLegs game = new AgentLegs(world, server, "game", home);
            try (Prober prober = new Prober(world, server, game.ip(), intervalMs, 24 * 3600)) {
                if (!prober.awaitReply(0, 60_000)) throw new IllegalStateException("the server at " + home + " does not answer");
                out.printf("%s runs at %s on %s; the client asks it every %d ms%n%n", server.name().toLowerCase(Locale.ROOT),
                        home, game.ip(), intervalMs);
                List<LegResult> results = new ArrayList<>();
                for (int i = 0; i < tour.size(); i++) {
                    Leg leg = tour.get(i);
                    out.printf("== leg %d of %d: %s -> %s, %s ==%n", i + 1, tour.size(), game.at(), leg.to(),
                            leg.mode().description());
                    LegResult r = game.migrate(leg, prober, 1, out);
                    printClient(r);
                    results.add(r);
                }
                printSummary(results);
                boolean allKept = results.stream().allMatch(LegResult::serverWentOn);
                out.printf("tour done in %.0f s; the client %s%n", (System.nanoTime() - started) / 1e9,
                        allKept ? "stayed connected and the server went on through every leg" : "LOST the server on some leg");
                return allKept ? 0 : 1;
            }
        } finally {
            out.printf("the agents' logs are kept in %s%n", World.logsOfLastWorld(options.workRoot));
        }
    }

    /** The agents' JVM options on the tour: an agent's own, with a heap that four of them and the world leave room for. */
    static List<String> agentJvm() {
        List<String> jvm = new java.util.ArrayList<>(org.migrationmesh.agent.AgentMain.JVM_OPTIONS);
        jvm.add("-Xmx512m");
        return List.copyOf(jvm);
    }

    private void printWorld(World world) {
        out.printf("world (namespaces %s-*):%n", world.net().prefix());
        out.printf("  %-12s %-14s %12s %14s%n", "SITE", "HOST", "UPLINK", "CLIENT RTT");
        for (Site s : world.sites()) {
            out.printf("  %-12s %-14s %12s %11.1f ms%n", s.name(), world.agents().host(s.name()).address(),
                    s.rateMbit() == 0 ? "local" : s.rateMbit() + " Mbit/s", 2 * s.delayMs());
        }
        out.printf("  client at the core: %s%n", world.client().address());
    }

    private void printClient(LegResult r) {
        GameServer server = options.server;
        ClientView c = r.client();
        String progress = r.progressBefore() >= 0
                ? String.format(Locale.ROOT, "%s time %s -> %s, the same %s", server.counterName(), clock(r.progressBefore()),
                        clock(r.progressAfter()), server.counterName())
                : String.format(Locale.ROOT, "%s %d -> %d, the same process", server.counterName(), c.counterBefore(), c.counterAfter());
        out.printf(Locale.ROOT, "  client: ping %.1f ms before, %.1f ms after; longest gap %d ms; %d of %d requests lost;"
                        + " server %s (%s)%n%n", r.pingBeforeMs(), r.pingAfterMs(), c.longestGapMs(), c.lost(),
                c.expected(), r.serverWentOn() ? "went on" : "DID NOT go on", progress);
    }

    private static String clock(long seconds) {
        return seconds < 0 ? "?" : String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
    }

    private void printSummary(List<LegResult> results) {
        out.printf("%-24s %-20s %10s %10s %6s %12s %16s%n", "LEG", "MODE", "DOWNTIME", "CLIENT GAP", "LOST", "ON THE WIRE",
                "PING BEFORE/AFTER");
        for (LegResult r : results) {
            out.printf(Locale.ROOT, "%-24s %-20s %7d ms %7d ms %6d %12s %7.1f/%.1f ms%n", r.from() + " -> " + r.leg().to(),
                    r.leg().mode().description(), r.downtimeMs(), r.client().longestGapMs(), r.client().lost(),
                    mib(r.wireBytes()), r.pingBeforeMs(), r.pingAfterMs());
        }
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
    }
}
