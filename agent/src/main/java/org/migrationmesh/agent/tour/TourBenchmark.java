package org.migrationmesh.agent.tour;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * The benchmark against the seed's own method: in one world, the same server run twice (once by
 * the agents, once by hand with runc), both moved along the same legs, interleaved, for several
 * repetitions; prints a table of medians and spreads (client-seen downtime, freeze, bytes on the
 * wire, total time) and writes it with a CSV of every leg and an SVG chart.
 */
@Command(name = "tour-benchmark", mixinStandardHelpOptions = true,
        description = "Benchmark migration-mesh against the seed's method (runc + rsync -z + keepalived) on the same world.")
public final class TourBenchmark implements Callable<Integer> {
    @Mixin
    TourOptions options;

    @Option(names = "--repetitions", defaultValue = "3", description = "Runs of the whole tour. Default: ${DEFAULT-VALUE}")
    int repetitions;

    @Option(names = "--out", defaultValue = "docs/benchmark", description = "Directory for the CSV, table and chart."
            + " Default: ${DEFAULT-VALUE}")
    Path outDir;

    @Option(names = "--seed-script", defaultValue = "scripts/seed-migrate.sh", description = "The seed's method. Default: ${DEFAULT-VALUE}")
    Path seedScript;

    private final PrintStream out = System.out;

    public static void main(String[] args) {
        System.exit(new CommandLine(new TourBenchmark()).setCaseInsensitiveEnumValuesAllowed(true).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        List<Leg> tour = options.tour();
        List<Site> sites = options.sites();
        String worldKind = options.world;
        int intervalMs = options.intervalMs;
        Path workRoot = options.workRoot;
        String home = sites.get(0).name();
        List<LegResult> results = new ArrayList<>();
        long started = System.nanoTime();
        GameServer server = options.preparedServer();
        try (World world = World.start(sites, workRoot, WorldTour.agentJvm(), out)) {
            for (Leg l : tour) world.site(l.to());
            AgentLegs.awaitCluster(world, out);
            AgentLegs ours = new AgentLegs(world, server, "game", home);
            try (SeedLegs seed = new SeedLegs(world, server, seedScript, "seed", home);
                 Prober ourProbe = new Prober(world, server, ours.ip(), intervalMs, 24 * 3600);
                 Prober seedProbe = new Prober(world, server, seed.ip(), intervalMs, 24 * 3600)) {
                if (!ourProbe.awaitReply(0, 60_000) || !seedProbe.awaitReply(0, 60_000)) {
                    throw new IllegalStateException("the servers at " + home + " do not answer");
                }
                out.printf("%s world, %s, %d repetitions of %s, both methods taking turns%n", worldKind,
                        server.name().toLowerCase(Locale.ROOT), repetitions, tour);
                for (int rep = 1; rep <= repetitions; rep++) {
                    for (Leg leg : tour) {
                        // Take turns on who goes first, so that neither always runs on a quieter machine.
                        boolean oursFirst = (rep + results.size() / 2) % 2 == 1;
                        for (int k = 0; k < 2; k++) {
                            LegResult r = (k == 0) == oursFirst ? ours.migrate(leg, ourProbe, rep, null)
                                    : seed.migrate(leg, seedProbe, rep, null);
                            results.add(r);
                            out.printf(Locale.ROOT, "  rep %d %-28s %-30s gap %5d ms  lost %3d  freeze %4d ms  wire %s  %s%n",
                                    rep, r.from() + " -> " + leg, r.method(), r.client().longestGapMs(), r.client().lost(),
                                    r.freezeMs(), WorldTour.mib(r.wireBytes()), r.serverWentOn() ? "" : "SERVER DID NOT GO ON");
                        }
                    }
                    if (rep < repetitions && !ours.at().equals(home)) {
                        ours.migrate(new Leg(home, Leg.Mode.STOP), ourProbe, 0, null);
                        seed.migrate(new Leg(home, Leg.Mode.STOP), seedProbe, 0, null);
                    }
                }
            }
        } finally {
            if (!results.isEmpty()) write(results);
            out.printf("benchmark ran %.0f s; the agents' logs are kept in %s%n", (System.nanoTime() - started) / 1e9,
                    World.logsOfLastWorld(workRoot));
        }
        return results.stream().allMatch(LegResult::serverWentOn) ? 0 : 1;
    }

    private void write(List<LegResult> results) throws java.io.IOException {
        Files.createDirectories(outDir);
        String name = "tour-" + options.world;
        StringBuilder csv = new StringBuilder(LegResult.CSV_HEADER).append('\n');
        for (LegResult r : results) csv.append(r.csv()).append('\n');
        Files.writeString(outDir.resolve(name + ".csv"), csv);
        List<LegStats.Group> groups = LegStats.group(results);
        String table = LegStats.table(groups, AgentLegs.METHOD, SeedLegs.METHOD);
        Files.writeString(outDir.resolve(name + ".md"), table);
        Files.writeString(outDir.resolve(name + ".svg"), GapChart.svg(groups, List.of(AgentLegs.METHOD, SeedLegs.METHOD),
                "Client-seen downtime per leg, " + options.world + " world, " + options.server.name().toLowerCase(Locale.ROOT)));
        out.println();
        out.print(table);
        out.printf("written: %s.{csv,md,svg}%n", outDir.resolve(name));
    }
}
