package org.migrationmesh.agent.tour;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** The options the tour and its benchmark share: which server, which world, which legs. */
final class TourOptions {
    @Option(names = "--server", defaultValue = "openarena",
            description = "The server to carry: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}")
    GameServer server;

    @Option(names = "--legs", split = ",", description = "Legs SITE[:stop|pre|post|pre+post], comma separated."
            + " Default: strasbourg:pre,montreal:pre,singapore:pre+post,strasbourg:pre+post")
    List<String> legs;

    @Option(names = "--world", defaultValue = "shaped", description = "shaped (regions with latency and bandwidth) or"
            + " loopback (every site local). Default: ${DEFAULT-VALUE}")
    String world;

    @Option(names = "--memhog-mb", defaultValue = "400", description = "Size of --server memhog. Default: ${DEFAULT-VALUE}")
    int memhogMb;

    @Option(names = "--dirty-rate", defaultValue = "1000", description = "Pages per second --server memhog rewrites."
            + " Default: ${DEFAULT-VALUE}")
    int dirtyRate;

    @Option(names = "--interval-ms", defaultValue = "20", description = "Prober's request interval. Default: ${DEFAULT-VALUE}")
    int intervalMs;

    @Option(names = "--work-dir", defaultValue = "/var/tmp", description = "Where the world's files go. Default: ${DEFAULT-VALUE}")
    Path workRoot;

    List<Leg> tour() {
        return legs == null ? Leg.SEED_TOUR : Leg.parseAll(legs);
    }

    List<Site> sites() {
        return Site.world(world);
    }

    /** Makes what the chosen server needs on this machine, sized as asked. */
    GameServer preparedServer() throws java.io.IOException, InterruptedException {
        GameServer.memhogMb = memhogMb;
        GameServer.dirtyPagesPerSecond = dirtyRate;
        server.prepare();
        return server;
    }
}
