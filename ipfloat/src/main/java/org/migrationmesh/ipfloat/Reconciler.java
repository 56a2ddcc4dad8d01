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

    /** Reconciles once, now. */
    public Report reconcileOnce() {
        Ownership ownership = owned.current();
        List<ReconcilePlanner.Action> plan = ReconcilePlanner.plan(ownership, ips.held());
        List<Change> changes = new ArrayList<>();
        List<FloatingIpException> failures = new ArrayList<>();
        for (ReconcilePlanner.Action action : plan) {
            try {
                changes.add(apply(action));
            } catch (FloatingIpException e) {
                failures.add(e);
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
