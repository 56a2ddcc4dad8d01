package org.migrationmesh.cluster;

import java.time.Duration;

/**
 * Raft timing. The leader sends heartbeats well within {@code electionTimeoutMin}; a follower that
 * hears nothing for a random time in [min, max] starts an election. On a WAN the timeouts must be
 * many round trips long, so {@link #forRtt(Duration)} derives them from the worst peer RTT.
 *
 * @param electionTimeoutMin shortest silence before a follower stands for election
 * @param electionTimeoutMax longest such silence (randomised between min and max)
 * @param requestTimeout     how long one Raft RPC or client attempt may take
 */
public record RaftTiming(Duration electionTimeoutMin, Duration electionTimeoutMax, Duration requestTimeout) {
    /** Loopback/LAN defaults, robust on a loaded 2-core machine running several agents. */
    public static final RaftTiming LAN = new RaftTiming(Duration.ofMillis(1000), Duration.ofMillis(2000),
            Duration.ofMillis(3000));

    public RaftTiming {
        if (electionTimeoutMin.isNegative() || electionTimeoutMin.isZero()) {
            throw new IllegalArgumentException("electionTimeoutMin must be positive: " + electionTimeoutMin);
        }
        if (electionTimeoutMax.compareTo(electionTimeoutMin) <= 0) {
            throw new IllegalArgumentException("electionTimeoutMax " + electionTimeoutMax
                    + " must exceed electionTimeoutMin " + electionTimeoutMin);
        }
        if (requestTimeout.compareTo(electionTimeoutMin) < 0) {
            throw new IllegalArgumentException("requestTimeout " + requestTimeout
                    + " must be at least electionTimeoutMin " + electionTimeoutMin);
        }
    }

    /**
     * Timing for peers whose round trip is at most {@code rtt}: election timeout 10-20 RTTs (never
     * below the LAN values), request timeout 30 RTTs (never below 3 s).
     */
    public static RaftTiming forRtt(Duration rtt) {
        if (rtt.isNegative()) throw new IllegalArgumentException("negative rtt: " + rtt);
        Duration min = max(LAN.electionTimeoutMin, rtt.multipliedBy(10));
        return new RaftTiming(min, min.multipliedBy(2), max(LAN.requestTimeout, rtt.multipliedBy(30)));
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
