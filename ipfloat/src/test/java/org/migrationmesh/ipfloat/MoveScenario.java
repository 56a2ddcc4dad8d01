package org.migrationmesh.ipfloat;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Two hosts (a, b) and a client (c) on one bridge. Each host runs a UDP responder bound to
 * the floating IP (allowed before the address is there by {@code ip_nonlocal_bind}); the
 * client probes the floating IP every 10 ms while the address moves between the hosts with
 * {@link FloatingIps} over {@link IpRoute2}. Shared by the integration test and the benchmark.
 */
final class MoveScenario implements AutoCloseable {
    static final int TCP_PORT = 7000;
    static final int UDP_PORT = 7001;

    /** One ownership change and what the client saw. */
    record Move(String from, String to, long epoch, long releaseNanos, long claimNanos, Change release,
                Change claim, UdpProbe.Reply firstFromNew) {
        double claimToFirstReplyMs() {
            return firstFromNew == null ? Double.NaN : (firstFromNew.nanos() - claimNanos) / 1e6;
        }
    }

    final TestNetwork net;
    final FloatingAddress vip;
    private final ScheduledExecutorService announcer = Executors.newScheduledThreadPool(2);
    private final Map<String, FloatingIps> ips = new HashMap<>();
    private final Map<String, Long> responders = new HashMap<>();
    private final List<Move> moves = new ArrayList<>();
    private UdpProbe probe;
    private String owner;
    private long epoch;

    MoveScenario(AnnouncePolicy policy, boolean announce) {
        net = TestNetwork.create("a", "b", "c");
        vip = net.floating(100);
        try {
            for (String host : List.of("a", "b")) {
                net.exec(host, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1");
                net.spawn(host, TestPrograms.tickserver(), vip.host(), Integer.toString(TCP_PORT),
                        Integer.toString(UDP_PORT));
                Thread.sleep(20); // distinct start times identify the responders
                IpCommands commands = IpRoute2.inNamespace(net.ns(host));
                ips.put(host, new FloatingIps(announce ? commands : new Silent(commands), "eth0", new EpochFence(),
                        null, policy, Clock.systemUTC(), announcer));
            }
        } catch (RuntimeException | InterruptedException e) {
            close();
            throw new IllegalStateException("cannot set up the move scenario", e);
        }
    }

    FloatingIps ips(String host) {
        return ips.get(host);
    }

    String owner() {
        return owner;
    }

    /** Claims the address on {@code host} at epoch 1 and starts the probe; returns once replies flow. */
    void begin(String host, int probeSeconds) throws InterruptedException {
        epoch = 1;
        ips.get(host).claim(vip, epoch);
        owner = host;
        probe = new UdpProbe(net, "c", vip, UDP_PORT, 10, probeSeconds);
        UdpProbe.Reply first = probe.awaitReplyFrom(-1, -1, 0, 5000);
        if (first == null) {
            throw new IllegalStateException("no reply from " + host + " through " + vip);
        }
        responders.put(host, first.responder());
    }

    /** Releases the address on the owner, claims it on {@code to}, waits for the first reply from it. */
    Move move(String to, long timeoutMs) throws InterruptedException {
        String from = owner;
        long next = ++epoch;
        long releaseNanos = System.nanoTime();
        Change release = ips.get(from).release(vip, next);
        long claimNanos = System.nanoTime();
        Change claim = ips.get(to).claim(vip, next);
        owner = to;
        UdpProbe.Reply first = probe.awaitReplyFrom(responders.getOrDefault(to, -1L), responders.getOrDefault(from, -1L),
                claimNanos, timeoutMs);
        if (first != null) {
            responders.putIfAbsent(to, first.responder());
        }
        Move m = new Move(from, to, next, releaseNanos, claimNanos, release, claim, first);
        moves.add(m);
        return m;
    }

    List<Move> moves() {
        return List.copyOf(moves);
    }

    long responder(String host) {
        return responders.getOrDefault(host, -1L);
    }

    /** Requests sent between the old host's last reply before the move and the new host's first that got no reply. */
    long lost(Move m) {
        if (m.firstFromNew() == null) {
            return -1;
        }
        List<UdpProbe.Reply> all = probe.replies();
        Set<Long> answered = new HashSet<>();
        long before = -1;
        for (UdpProbe.Reply r : all) {
            answered.add(r.seq());
            if (r.nanos() < m.releaseNanos()) {
                before = Math.max(before, r.seq());
            }
        }
        long lost = 0;
        for (long s = before + 1; s < m.firstFromNew().seq(); s++) {
            if (!answered.contains(s)) {
                lost++;
            }
        }
        return lost;
    }

    /** Replies from the old host read after the new host's first reply and before {@code untilNanos}. */
    long repliesFromOldAfterwards(Move m, long untilNanos) {
        if (m.firstFromNew() == null) {
            return -1;
        }
        long old = responders.getOrDefault(m.from(), -1L);
        return probe.replies().stream().filter(r -> r.nanos() > m.firstFromNew().nanos() && r.nanos() < untilNanos
                && r.responder() == old).count();
    }

    UdpProbe probe() {
        return probe;
    }

    @Override
    public void close() {
        if (probe != null) {
            probe.close();
        }
        announcer.shutdownNow();
        net.close();
    }

    /** Forwards everything but sends no announcement: the baseline without gratuitous ARP. */
    private static final class Silent implements IpCommands {
        private final IpCommands real;

        Silent(IpCommands real) {
            this.real = real;
        }

        @Override
        public List<Link> links() {
            return real.links();
        }

        @Override
        public void addAddress(String iface, FloatingAddress address, String label, boolean deprecated) {
            real.addAddress(iface, address, label, deprecated);
        }

        @Override
        public void deleteAddress(String iface, FloatingAddress address) {
            real.deleteAddress(iface, address);
        }

        @Override
        public void prepareIpv6Announcements(String iface) {
            real.prepareIpv6Announcements(iface);
        }

        @Override
        public int sendGratuitousArp(String iface, FloatingAddress address, int count) {
            return 0;
        }

        @Override
        public List<Neighbour> neighbours(String iface) {
            return real.neighbours(iface);
        }

        @Override
        public void addStaleNeighbours(String iface, List<Neighbour> entries) {
            real.addStaleNeighbours(iface, entries);
        }

        @Override
        public String namespace() {
            return real.namespace();
        }
    }
}
