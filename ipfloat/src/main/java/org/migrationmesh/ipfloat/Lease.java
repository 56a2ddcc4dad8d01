package org.migrationmesh.ipfloat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The right to hold floating IPs, kept alive by contact with a majority of the cluster: each
 * confirmation renews it for {@code duration}; without one for longer than that it expires.
 * A new lease is not held until its first confirmation. Pure (time comes from the clock).
 */
public final class Lease {
    private final Clock clock;
    private final Duration duration;
    private Instant lastConfirmed;

    public Lease(Clock clock, Duration duration) {
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("lease duration must be positive: " + duration);
        }
        this.clock = clock;
        this.duration = duration;
    }

    /** Majority contact was confirmed now: the lease runs for another {@code duration}. */
    public synchronized void confirm() {
        lastConfirmed = clock.instant();
    }

    /** Whether the last confirmation is less than {@code duration} old. */
    public synchronized boolean isHeld() {
        return lastConfirmed != null && clock.instant().isBefore(lastConfirmed.plus(duration));
    }

    /** When the lease ends unless confirmed again; empty if never confirmed. */
    public synchronized Optional<Instant> expiresAt() {
        return Optional.ofNullable(lastConfirmed).map(t -> t.plus(duration));
    }

    /** Time since the last confirmation; empty if never confirmed. */
    public synchronized Optional<Duration> silence() {
        return Optional.ofNullable(lastConfirmed).map(t -> Duration.between(t, clock.instant()));
    }

    public Duration duration() {
        return duration;
    }

    /** A short human description, for logs and errors. */
    public synchronized String describe() {
        if (lastConfirmed == null) {
            return "never confirmed (lease " + duration.toMillis() + " ms)";
        }
        long silentMs = Duration.between(lastConfirmed, clock.instant()).toMillis();
        return (isHeld() ? "held" : "expired") + ", last majority contact " + silentMs + " ms ago (lease "
                + duration.toMillis() + " ms)";
    }
}
