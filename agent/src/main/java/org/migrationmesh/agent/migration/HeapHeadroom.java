package org.migrationmesh.agent.migration;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Room in the young generation for what an agent allocates while a container is frozen. A young
 * collection that falls inside the downtime stops the agent for its whole pause: with the
 * agents' serial collector, 15-23 ms each time on the tour, on 3 of 36 Strasbourg/Stuttgart
 * pre-copy legs (the eden fills every few legs, mostly during migrations, which allocate the
 * most). So just before a container freezes, the source agent, if its eden has less than the
 * room left, has it collected at once, while the container still runs and the freeze's commits
 * travel. Java has no call for a young collection alone ({@code System.gc()} is a full one,
 * 70-190 ms here), so this allocates the rest of the eden as garbage, which makes the collector
 * run as it would have a little later anyway. Only under the serial collector the agents run
 * ({@code AgentMain.JVM_OPTIONS}) and the parallel one, whose eden has a size: G1 commits its eden
 * region by region and shows ~14 MiB free whatever it holds, so it would collect before every
 * freeze. The destination does not do this: it cannot tell a
 * live round from the first messages of a frozen one (pre+post-copy), after which it would
 * collect inside the downtime; it also allocates less there (no young collection fell inside any
 * of the 36 legs' downtimes on either side with the source's check on).
 */
final class HeapHeadroom {
    /** Room that a downtime's allocation stays well inside (the source's measured 4.2-5.6 MiB on the tour's legs). */
    public static final long DOWNTIME_ROOM = 24L << 20;
    private static final int PIECE = 256 << 10;
    /** Where the garbage goes, so that no compiler drops its allocation. */
    private static volatile Object sink;

    private final MemoryPoolMXBean eden;
    private final GarbageCollectorMXBean young;

    private HeapHeadroom(MemoryPoolMXBean eden, GarbageCollectorMXBean young) {
        this.eden = eden;
        this.young = young;
    }

    /** This JVM's eden and its collector, if it runs the serial or the parallel collector. */
    public static Optional<HeapHeadroom> ofThisJvm() {
        MemoryPoolMXBean eden = null;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.getName().toLowerCase(Locale.ROOT).contains("eden")) eden = p;
        }
        if (eden == null) return Optional.empty();
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (List.of(g.getMemoryPoolNames()).contains(eden.getName())
                    && List.of("Copy", "PS Scavenge").contains(g.getName())) {
                return Optional.of(new HeapHeadroom(eden, g));
            }
        }
        return Optional.empty();
    }

    /** Bytes the eden can still take before its collection. */
    public long free() {
        MemoryUsage u = eden.getUsage();
        return Math.max(0, u.getCommitted() - u.getUsed());
    }

    /** Young collections so far. */
    public long collections() {
        return young.getCollectionCount();
    }

    /**
     * Has the eden collected now if less than {@code room} bytes of it are free; returns what was
     * done, or empty if there was room.
     */
    public Optional<Collected> ensure(long room) {
        long free = free();
        if (free >= room) return Optional.empty();
        long t0 = System.nanoTime();
        long before = collections();
        long bound = eden.getUsage().getCommitted() + 2L * PIECE;
        long allocated = 0;
        while (collections() == before && allocated < bound) {
            sink = new byte[PIECE];
            allocated += PIECE;
        }
        sink = null;
        return Optional.of(new Collected(free, allocated, collections() > before, (System.nanoTime() - t0) / 1_000_000));
    }

    /**
     * A collection had: the eden's free bytes before, the garbage allocated to fill it, whether a
     * young collection ran, and the milliseconds it all took.
     */
    public record Collected(long freeBefore, long allocated, boolean collected, long ms) {
    }
}
