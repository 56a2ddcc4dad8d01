package org.migrationmesh.ipfloat;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Everything an agent runs for its floating IPs, wired together: claims and releases on one
 * interface, the lease renewed by majority contact with its watchdog, and periodic
 * reconciliation with what the cluster says this agent owns.
 *
 * <p>Closing stops the background work and releases every floating IP held here: an agent
 * that stops answering for the cluster must not leave addresses behind that the cluster will
 * give to another agent.
 */
public final class FloatingIpService implements AutoCloseable {

    /**
     * @param iface          the interface floating addresses go on
     * @param namespace      the network namespace holding it, or null for the host's own
     * @param lease          how long majority contact keeps the right to hold addresses; the
     *                       cluster must wait at least this long before giving an address of a
     *                       silent agent to another
     * @param leaseCheck     how often the watchdog looks at the lease
     * @param reconcileEvery how often the interface is compared with the cluster's view
     * @param announce       how claims are announced
     */
    public record Config(String iface, String namespace, Duration lease, Duration leaseCheck,
                         Duration reconcileEvery, AnnouncePolicy announce) {
        public Config {
            Objects.requireNonNull(iface, "iface");
            Objects.requireNonNull(lease, "lease");
            Objects.requireNonNull(leaseCheck, "leaseCheck");
            Objects.requireNonNull(reconcileEvery, "reconcileEvery");
            Objects.requireNonNull(announce, "announce");
        }

        /** Lease 3 s checked every 100 ms, reconcile every 5 s, standard announcements. */
        public static Config defaults(String iface, String namespace) {
            return new Config(iface, namespace, Duration.ofSeconds(3), Duration.ofMillis(100), Duration.ofSeconds(5),
                    AnnouncePolicy.standard());
        }
    }

    private final ScheduledExecutorService scheduler;
    private final Lease lease;
    private final FloatingIps ips;
    private final LeaseWatchdog watchdog;
    private final Reconciler reconciler;
    private final IpCommands commands;
    private final String iface;

    private FloatingIpService(Config config, IpCommands commands, OwnedAddresses owned, Clock clock) {
        scheduler = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "floating-ip");
            t.setDaemon(true);
            return t;
        });
        lease = new Lease(clock, config.lease());
        ips = new FloatingIps(commands, config.iface(), new EpochFence(), lease, config.announce(), clock, scheduler);
        watchdog = new LeaseWatchdog(lease, ips);
        reconciler = new Reconciler(ips, owned);
        this.commands = commands;
        this.iface = config.iface();
    }

    /**
     * Starts the watchdog and the reconciliation (first round at once; claims wait for the
     * first majority contact). Effects go through {@link IpRoute2} in the configured namespace.
     */
    public static FloatingIpService start(Config config, OwnedAddresses owned, MajorityContact contact, Clock clock) {
        return start(config, new IpRoute2(config.namespace(), Duration.ofSeconds(5)), owned, contact, clock);
    }

    /** As {@link #start(Config, OwnedAddresses, MajorityContact, Clock)}, with the given effects. */
    public static FloatingIpService start(Config config, IpCommands commands, OwnedAddresses owned,
                                          MajorityContact contact, Clock clock) {
        FloatingIpService service = new FloatingIpService(config, commands, owned, clock);
        service.watchdog.start(contact, service.scheduler, config.leaseCheck());
        service.reconciler.start(service.scheduler, config.reconcileEvery());
        return service;
    }

    /** Claims at once (an ownership change just committed), rather than waiting for reconciliation. */
    public Change claim(FloatingAddress address, long epoch) {
        return ips.claim(address, epoch);
    }

    /** Claims without announcing yet (see {@link FloatingIps#claim(FloatingAddress, long, boolean)}). */
    public Change claimQuietly(FloatingAddress address, long epoch) {
        return ips.claim(address, epoch, false);
    }

    /** Announces an address held here, e.g. after a quiet claim once the restored container listens. */
    public java.util.concurrent.CompletableFuture<Integer> announce(FloatingAddress address) {
        return ips.announceHeld(address);
    }

    /** Releases at once (ownership moved away), rather than waiting for reconciliation. */
    public Change release(FloatingAddress address, long epoch) {
        return ips.release(address, epoch);
    }

    /** Releases without an epoch: for undoing a claim whose ownership never committed. */
    public Change releaseUnfenced(FloatingAddress address) {
        return ips.releaseUnfenced(address);
    }

    /**
     * This host's neighbours in {@code address}'s subnet (see {@link Neighbour}): what a host
     * taking the address over needs to answer its clients without asking for their link-layer
     * addresses first.
     */
    public List<Neighbour> neighbours(FloatingAddress address) {
        return Neighbour.missing(commands.neighbours(iface), List.of(), address);
    }

    /**
     * Takes over the neighbours another host had in {@code address}'s subnet that this one lacks,
     * as STALE entries (used at once, confirmed by the kernel on first use); returns them.
     */
    public List<Neighbour> learnNeighbours(FloatingAddress address, List<Neighbour> offered) {
        if (offered.isEmpty()) return List.of();
        List<Neighbour> missing = Neighbour.missing(offered, commands.neighbours(iface), address);
        commands.addStaleNeighbours(iface, missing);
        return missing;
    }

    public Set<FloatingAddress> held() {
        return ips.held();
    }

    public Reconciler.Report reconcileNow() {
        return reconciler.reconcileOnce();
    }

    public Lease lease() {
        return lease;
    }

    /** Stops the background work, then releases every floating IP held here and returns what it did. */
    public List<Change> shutdown() throws Exception {
        reconciler.close();
        watchdog.close();
        scheduler.shutdownNow();
        try {
            return ips.releaseAll();
        } finally {
            if (commands instanceof AutoCloseable c) c.close();
        }
    }

    @Override
    public void close() throws Exception {
        shutdown();
    }
}
