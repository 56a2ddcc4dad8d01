package org.migrationmesh.ipfloat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The floating IPs this agent holds on one interface: claim (add + announce) and release
 * (remove), both idempotent, fenced by the cluster epoch and, for claims, by the lease.
 *
 * <p>A floating address is recognised on the interface by its mark (IPv4: the label
 * {@code IFACE:fl}; IPv6: preferred lifetime 0, so the host never uses it as a source) or
 * because it was claimed here. Any other configured address is the host's own and is never
 * claimed over nor removed. Calls are serialised; announcements run in the background on
 * the given scheduler and are cancelled when the address is released.
 */
public final class FloatingIps {
    private static final Logger log = LoggerFactory.getLogger(FloatingIps.class);
    static final String LABEL_SUFFIX = ":fl";
    private static final int MAX_IFNAME = 15;

    private final IpCommands commands;
    private final String iface;
    private final EpochFence fence;
    private final Lease lease;
    private final AnnouncePolicy policy;
    private final Clock clock;
    private final ScheduledExecutorService announcer;
    private final Set<FloatingAddress> claimedHere = new HashSet<>();
    private final Map<FloatingAddress, List<Future<?>>> announcing = new HashMap<>();
    private boolean ipv6Prepared;

    /**
     * @param commands  effects in the host's (or container's) network namespace
     * @param iface     the interface floating addresses go on
     * @param fence     highest epochs seen
     * @param lease     claims are refused while it is not held; null for no lease check
     * @param policy    how claims are announced
     * @param clock     measures how long each call took
     * @param announcer runs announcements in the background
     */
    public FloatingIps(IpCommands commands, String iface, EpochFence fence, Lease lease, AnnouncePolicy policy,
                       Clock clock, ScheduledExecutorService announcer) {
        this.commands = Objects.requireNonNull(commands);
        this.iface = Objects.requireNonNull(iface);
        this.fence = Objects.requireNonNull(fence);
        this.lease = lease;
        this.policy = Objects.requireNonNull(policy);
        this.clock = Objects.requireNonNull(clock);
        this.announcer = Objects.requireNonNull(announcer);
    }

    public String iface() {
        return iface;
    }

    /**
     * Puts {@code address} on the interface and announces it. Already there: nothing added,
     * announced again. Throws {@link FloatingIpException.StaleEpoch},
     * {@link FloatingIpException.NoLease}, {@link FloatingIpException.NoSuchInterface},
     * {@link FloatingIpException.HostAddress}, {@link FloatingIpException.AddressMismatch},
     * {@link FloatingIpException.CommandFailed}.
     */
    public synchronized Change claim(FloatingAddress address, long epoch) {
        return claim(address, epoch, true);
    }

    /**
     * As {@link #claim(FloatingAddress, long)}, but with {@code announceNow} false nobody is told
     * yet: for a migration's destination, which must not draw traffic (that it would answer
     * with resets) before the restored sockets exist. Call {@link #announce} after the restore.
     */
    public synchronized Change claim(FloatingAddress address, long epoch, boolean announceNow) {
        Instant start = clock.instant();
        fence.check(address, epoch);
        if (lease != null && !lease.isHeld()) {
            throw new FloatingIpException.NoLease(address, lease.describe());
        }
        List<Link> links = commands.links();
        Link link = findLink(links);
        Link.Configured present = find(link, address);
        if (present != null && !isFloating(present)) {
            throw new FloatingIpException.HostAddress(address, iface);
        }
        for (Link other : links) {
            if (other != link && find(other, address) != null) {
                throw new FloatingIpException.HostAddress(address, other.name());
            }
        }
        checkFits(link, address);
        fence.admit(address, epoch);
        Change.Outcome outcome = Change.Outcome.ALREADY_PRESENT;
        if (present == null) {
            if (!address.isIpv4() && !ipv6Prepared) {
                commands.prepareIpv6Announcements(iface);
                ipv6Prepared = true;
            }
            commands.addAddress(iface, address, address.isIpv4() ? label() : null, !address.isIpv4());
            outcome = Change.Outcome.ADDED;
        }
        claimedHere.add(address);
        Duration took = Duration.between(start, clock.instant());
        CompletableFuture<Integer> announced;
        int planned;
        if (!announceNow) {
            planned = 0;
            announced = CompletableFuture.completedFuture(0);
        } else if (address.isIpv4()) {
            planned = policy.plannedIpv4();
            announced = announce(address);
        } else {
            // The kernel sends one unsolicited neighbour advertisement when the address is added.
            planned = outcome == Change.Outcome.ADDED ? 1 : 0;
            announced = CompletableFuture.completedFuture(planned);
        }
        return new Change(address, outcome, epoch, planned, announced, took);
    }

    /**
     * Removes {@code address} from the interface; absent: nothing to do. Refuses to remove a
     * host address. Throws {@link FloatingIpException.StaleEpoch} for an outdated epoch.
     */
    public synchronized Change release(FloatingAddress address, long epoch) {
        fence.check(address, epoch);
        Change change = remove(address, epoch);
        fence.admit(address, epoch);
        return change;
    }

    /**
     * Removes a floating address without an epoch: this agent decided it by itself (its lease
     * expired, or the cluster no longer knows the address).
     */
    public synchronized Change releaseUnfenced(FloatingAddress address) {
        return remove(address, -1);
    }

    /** Removes every floating address held here, without epochs. */
    public synchronized List<Change> releaseAll() {
        List<Change> changes = new ArrayList<>();
        for (FloatingAddress a : held()) {
            changes.add(remove(a, -1));
        }
        return changes;
    }

    /** The floating addresses currently on the interface (read from the system). */
    public synchronized Set<FloatingAddress> held() {
        Link link = findLink(commands.links());
        Set<FloatingAddress> held = new LinkedHashSet<>();
        for (Link.Configured c : link.addresses()) {
            if (isFloating(c)) {
                held.add(new FloatingAddress(c.address(), c.prefixLength()));
            }
        }
        return held;
    }

    private Change remove(FloatingAddress address, long epoch) {
        Instant start = clock.instant();
        Link link = findLink(commands.links());
        Link.Configured present = find(link, address);
        Change.Outcome outcome = Change.Outcome.ABSENT;
        if (present != null) {
            if (!isFloating(present)) {
                throw new FloatingIpException.HostAddress(address, iface);
            }
            stopAnnouncing(address);
            commands.deleteAddress(iface, new FloatingAddress(present.address(), present.prefixLength()));
            outcome = Change.Outcome.REMOVED;
        }
        claimedHere.remove(address);
        stopAnnouncing(address);
        return new Change(address, outcome, epoch, 0, CompletableFuture.completedFuture(0),
                Duration.between(start, clock.instant()));
    }

    /**
     * Announces an address held here (gratuitous ARPs for IPv4, in the background); returns the
     * number sent once done. Fails if the address is not held here.
     */
    public synchronized CompletableFuture<Integer> announceHeld(FloatingAddress address) {
        if (!claimedHere.contains(address)) {
            throw new IllegalStateException(address + " is not held on " + iface + "; claim it first");
        }
        return address.isIpv4() ? announce(address) : CompletableFuture.completedFuture(0);
    }

    private CompletableFuture<Integer> announce(FloatingAddress address) {
        stopAnnouncing(address);
        CompletableFuture<Integer> done = new CompletableFuture<>();
        AtomicInteger sent = new AtomicInteger();
        AtomicInteger bursts = new AtomicInteger(policy.repeatAfter().isZero() ? 1 : 2);
        Runnable burst = () -> {
            try {
                sent.addAndGet(commands.sendGratuitousArp(iface, address, policy.burst()));
                if (bursts.decrementAndGet() == 0) {
                    done.complete(sent.get());
                }
            } catch (RuntimeException e) {
                if (!Thread.currentThread().isInterrupted()) {
                    log.warn("Announcing {} on {} failed: {}", address, iface, e.getMessage());
                }
                done.completeExceptionally(e);
            }
        };
        List<Future<?>> tasks = new ArrayList<>();
        tasks.add(announcer.submit(burst));
        if (!policy.repeatAfter().isZero()) {
            tasks.add(announcer.schedule(burst, policy.repeatAfter().toNanos(), TimeUnit.NANOSECONDS));
        }
        announcing.put(address, tasks);
        return done;
    }

    private void stopAnnouncing(FloatingAddress address) {
        List<Future<?>> tasks = announcing.remove(address);
        if (tasks != null) {
            tasks.forEach(t -> t.cancel(true));
        }
    }

    private boolean isFloating(Link.Configured c) {
        for (FloatingAddress a : claimedHere) {
            if (c.sameAddress(a)) {
                return true;
            }
        }
        boolean ipv4 = c.address() instanceof java.net.Inet4Address;
        return ipv4 ? !c.label().isEmpty() && c.label().equals(label()) : c.deprecated() && c.scope().equals("global");
    }

    /** The IPv4 label marking floating addresses, or null when the name would be too long. */
    private String label() {
        String label = iface + LABEL_SUFFIX;
        return label.length() <= MAX_IFNAME ? label : null;
    }

    private Link findLink(List<Link> links) {
        for (Link l : links) {
            if (l.name().equals(iface)) {
                return l;
            }
        }
        throw new FloatingIpException.NoSuchInterface(iface, commands.namespace());
    }

    private static Link.Configured find(Link link, FloatingAddress address) {
        for (Link.Configured c : link.addresses()) {
            if (c.sameAddress(address)) {
                return c;
            }
        }
        return null;
    }

    /** Same family as one of the interface's global addresses and, unless a host route, in its subnet. */
    private void checkFits(Link link, FloatingAddress address) {
        int hostPrefix = address.isIpv4() ? 32 : 128;
        boolean sameFamily = false;
        for (Link.Configured c : link.addresses()) {
            boolean ipv4 = c.address() instanceof java.net.Inet4Address;
            if (ipv4 != address.isIpv4() || !c.scope().equals("global")) {
                continue;
            }
            sameFamily = true;
            if (address.prefixLength() == hostPrefix || (c.prefixLength() == address.prefixLength()
                    && FloatingAddress.sameSubnet(c.address(), address.address(), c.prefixLength()))) {
                return;
            }
        }
        throw new FloatingIpException.AddressMismatch(address, iface, sameFamily
                ? "it is outside every " + (address.isIpv4() ? "IPv4" : "IPv6") + " subnet of the interface"
                : "the interface has no global " + (address.isIpv4() ? "IPv4" : "IPv6") + " address");
    }
}
