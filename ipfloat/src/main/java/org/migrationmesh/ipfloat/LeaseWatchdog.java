package org.migrationmesh.ipfloat;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the {@link Lease} renewed from {@link MajorityContact} and, when it expires, releases
 * every floating IP this agent holds: an agent cut off from the majority stops answering for
 * its addresses once its lease is over, before the cluster gives them to another agent
 * (which it must not do before the lease duration has passed).
 */
public final class LeaseWatchdog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeaseWatchdog.class);

    private final Lease lease;
    private final FloatingIps ips;
    private boolean releasedSinceLastContact;
    private AutoCloseable subscription;
    private ScheduledFuture<?> checks;

    public LeaseWatchdog(Lease lease, FloatingIps ips) {
        this.lease = Objects.requireNonNull(lease);
        this.ips = Objects.requireNonNull(ips);
    }

    /** Subscribes to contact confirmations and checks the lease every {@code checkEvery}. */
    public synchronized void start(MajorityContact contact, ScheduledExecutorService scheduler, Duration checkEvery) {
        subscription = contact.subscribe(lease::confirm);
        checks = scheduler.scheduleWithFixedDelay(this::checkLoggingFailures, checkEvery.toNanos(),
                checkEvery.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * One check: if the lease has expired (and nothing was released since the last contact),
     * releases every held floating IP and returns what was released; otherwise an empty list.
     */
    public List<Change> check() {
        synchronized (this) {
            if (lease.isHeld()) {
                releasedSinceLastContact = false;
                return List.of();
            }
            if (releasedSinceLastContact || lease.expiresAt().isEmpty()) {
                return List.of();
            }
            releasedSinceLastContact = true;
        }
        List<Change> released = ips.releaseAll();
        log.warn("Lease expired, lost contact with the cluster majority ({}): released {} floating IP(s) on {}: {}",
                lease.describe(), released.size(),
                ips.iface(), released);
        return released;
    }

    private void checkLoggingFailures() {
        try {
            check();
        } catch (RuntimeException e) {
            synchronized (this) {
                releasedSinceLastContact = false; // try again on the next check
            }
            log.error("Releasing floating IPs after lease expiry failed; retrying", e);
        }
    }

    @Override
    public synchronized void close() throws Exception {
        if (checks != null) {
            checks.cancel(false);
        }
        if (subscription != null) {
            subscription.close();
        }
    }
}
