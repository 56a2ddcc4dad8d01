package org.migrationmesh.ipfloat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the floating IPs on the interface match what the cluster says this agent owns: on
 * start and then periodically, it plans with {@link ReconcilePlanner} and carries the plan out
 * with {@link FloatingIps}. One failing action does not stop the others.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final FloatingIps ips;
    private final OwnedAddresses owned;
    private ScheduledFuture<?> rounds;

    /** What one reconciliation did and what failed. */
    public record Report(List<ReconcilePlanner.Action> plan, List<Change> changes,
                         List<FloatingIpException> failures) {
    }

    public Reconciler(FloatingIps ips, OwnedAddresses owned) {
        this.ips = Objects.requireNonNull(ips);
        this.owned = Objects.requireNonNull(owned);
    }

    /**
     * Reconciles once, now. The ownership is read, and the plan applied, holding the addresses'
     * lock ({@link FloatingIps} is synchronized): a migration that claims or releases an address
     * meanwhile does so before the read, which then shows the address migrating and leaves it
     * alone, or after the plan was applied. Read before, a stale view put back an address a
     * migration's source had just released (seen: the source still held it after COMMIT).
     */
    public Report reconcileOnce() {
        List<ReconcilePlanner.Action> plan;
        List<Change> changes = new ArrayList<>();
        List<FloatingIpException> failures = new ArrayList<>();
        synchronized (ips) {
            Ownership ownership = owned.current();
            plan = ReconcilePlanner.plan(ownership, ips.held());
            for (ReconcilePlanner.Action action : plan) {
                try {
                    changes.add(apply(action));
                } catch (FloatingIpException e) {
                    failures.add(e);
                }
            }
        }
        if (!plan.isEmpty()) {
            log.info("Reconciled floating IPs on {}: {} change(s) {}, {} failure(s) {}", ips.iface(), changes.size(),
                    changes, failures.size(), failures.stream().map(Throwable::getMessage).toList());
        }
        return new Report(plan, changes, failures);
    }

    private Change apply(ReconcilePlanner.Action action) {
        if (action instanceof ReconcilePlanner.Claim c) {
            return ips.claim(c.address(), c.epoch());
        }
        ReconcilePlanner.Release r = (ReconcilePlanner.Release) action;
        return r.epoch().isPresent() ? ips.release(r.address(), r.epoch().getAsLong())
                : ips.releaseUnfenced(r.address());
    }

    /** Reconciles now on the scheduler, then every {@code period}. */
    public synchronized void start(ScheduledExecutorService scheduler, Duration period) {
        rounds = scheduler.scheduleWithFixedDelay(this::reconcileLoggingFailures, 0, period.toNanos(),
                TimeUnit.NANOSECONDS);
    }

    private void reconcileLoggingFailures() {
        try {
            reconcileOnce();
        } catch (RuntimeException e) {
            log.error("Reconciling floating IPs on {} failed; retrying next round", ips.iface(), e);
        }
    }

    @Override
    public synchronized void close() {
        if (rounds != null) {
            rounds.cancel(false);
        }
    }
}
