package org.migrationmesh.ipfloat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * What one claim or release did.
 *
 * @param address            the floating address
 * @param outcome            what happened to it on the interface
 * @param epoch              the epoch carried by the request, or -1 for a release this agent
 *                           decided by itself (lease expiry, address unknown to the cluster)
 * @param announcementsPlanned announcements planned (gratuitous ARPs, or 1 kernel-sent
 *                           neighbour advertisement for IPv6); 0 for a release
 * @param announced          completes with the number of announcements actually sent, once
 *                           they all went out (they run in the background)
 * @param took               time the claim/release itself took (announcements excluded)
 */
public record Change(FloatingAddress address, Outcome outcome, long epoch, int announcementsPlanned,
                     CompletableFuture<Integer> announced, Duration took) {

    /** What a claim or release found and did. */
    public enum Outcome {
        ADDED, ALREADY_PRESENT, REMOVED, ABSENT
    }

    @Override
    public String toString() {
        return address + " " + outcome + " epoch " + epoch + " in " + took.toNanos() / 1000 + " us, "
                + announcementsPlanned + " announcement(s)";
    }
}
