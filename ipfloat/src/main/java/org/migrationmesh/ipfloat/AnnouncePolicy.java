package org.migrationmesh.ipfloat;

import java.time.Duration;

/**
 * How a claimed IPv4 address is announced, as keepalived does: a burst of gratuitous ARPs
 * (one per second) right away, and the same burst again after {@code repeatAfter} for
 * neighbours that missed the first. IPv6 addresses are announced once by the kernel
 * (unsolicited neighbour advertisement) when they are added.
 *
 * @param burst       gratuitous ARPs per burst (at least 1)
 * @param repeatAfter delay of the second burst after the claim; zero for none
 */
public record AnnouncePolicy(int burst, Duration repeatAfter) {
    public AnnouncePolicy {
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be at least 1: " + burst);
        }
        if (repeatAfter.isNegative()) {
            throw new IllegalArgumentException("repeatAfter must not be negative: " + repeatAfter);
        }
    }

    /** Three now, three again after five seconds. */
    public static AnnouncePolicy standard() {
        return new AnnouncePolicy(3, Duration.ofSeconds(5));
    }

    /** Gratuitous ARPs planned for one IPv4 claim. */
    public int plannedIpv4() {
        return repeatAfter.isZero() ? burst : 2 * burst;
    }
}
