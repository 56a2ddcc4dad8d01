package org.migrationmesh.agent.tour;

import java.util.List;

/**
 * A place of the simulated world: one host (and agent) named after the city, in a region
 * {@code delayMs} one way from the core, behind an uplink of {@code rateMbit} (0 = the core
 * itself: no relay, no shaping). The client sits at the core, next to the local site, so its
 * round trip to a site is about {@code 2 × delayMs}.
 */
public record Site(String name, double delayMs, int rateMbit) {
    public Site {
        if (name == null || !name.matches("[a-z][a-z0-9]{0,11}")) {
            throw new IllegalArgumentException("site name must be 1-12 lower-case letters/digits: " + name);
        }
        if (delayMs < 0 || rateMbit < 0) throw new IllegalArgumentException("negative delay or rate for site " + name);
    }

    /** Whether the site is at the core (the local site). */
    public boolean local() {
        return delayMs == 0 && rateMbit == 0;
    }

    /**
     * The seed's journey: Stuttgart (local), Strasbourg (same continent), Montreal and Singapore
     * (other continents). Delays give round trips of about 5, 90 and 160 ms from the client;
     * rates are what a cloud VM's cross-region path gives, roughly.
     */
    public static final List<Site> SEED_WORLD = List.of(
            new Site("stuttgart", 0, 0),
            new Site("strasbourg", 2.5, 200),
            new Site("montreal", 45, 100),
            new Site("singapore", 80, 50));

    /**
     * The seed's sites as a world of {@code kind}: "shaped" (regions with their latency and
     * bandwidth) or "loopback" (every site local, no latency, no shaping).
     */
    public static List<Site> world(String kind) {
        return switch (kind) {
            case "shaped" -> SEED_WORLD;
            case "loopback" -> SEED_WORLD.stream().map(s -> new Site(s.name(), 0, 0)).toList();
            default -> throw new IllegalArgumentException("a world is shaped or loopback, not '" + kind + "'");
        };
    }

    /** Round trip between two sites, as the relays make it (twice each one-way delay). */
    public static double roundTripMs(Site a, Site b) {
        return a.name.equals(b.name) ? 0 : 2 * (a.delayMs + b.delayMs);
    }
}
