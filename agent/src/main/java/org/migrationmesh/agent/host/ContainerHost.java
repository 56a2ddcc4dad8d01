package org.migrationmesh.agent.host;

import org.migrationmesh.agent.runtime.BundleSpec;
import org.migrationmesh.agent.runtime.ContainerRuntime;
import org.migrationmesh.agent.runtime.ContainerSockets;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.agent.runtime.CriuConfig;
import org.migrationmesh.agent.runtime.PacketHold;
import org.migrationmesh.agent.runtime.PagesFifo;
import org.migrationmesh.agent.runtime.PreparedRootfs;
import org.migrationmesh.agent.runtime.Runc;
import org.migrationmesh.agent.runtime.RuntimeFailure;
import org.migrationmesh.agent.runtime.TmpfsMounts;
import org.migrationmesh.agent.runtime.Workloads;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.MeshStateMachine;
import org.migrationmesh.ipfloat.FloatingAddress;
import org.migrationmesh.ipfloat.FloatingIpException;
import org.migrationmesh.ipfloat.FloatingIpService;
import org.migrationmesh.ipfloat.MajorityContact;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes this host run what the cluster says it owns: after every applied entry (and every few
 * seconds, to catch crashes) it compares the cluster's containers with runc's list and starts,
 * restarts or stops containers, and keeps the floating IPs it owns on its interface (claimed
 * before a container that binds them starts). One thread does all of it, in order.
 */
public final class ContainerHost implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ContainerHost.class);
    private static final Duration PERIOD = Duration.ofSeconds(2);

    /**
     * Where this host's containers live.
     *
     * @param netns         the network namespace containers join and floating IPs go into (name under /var/run/netns)
     * @param iface         the interface floating IPs go on
     * @param prefixLength  the prefix length of floating IPs on that interface
     * @param bundles       where bundles are written
     * @param cgroupParent  the cgroup path under which each container gets its own
     * @param lazyRestore   whether pre-copy restores here run the tasks before their memory is in, where CRIU can
     *                      ({@code AgentConfig.RuntimeConfig#lazyRestore})
     * @param holdPackets   whether restores here hold the packets to their container's floating IP until its sockets
     *                      take them ({@link #holdPackets}, {@code AgentConfig.RuntimeConfig#holdPackets})
     */
    public record Settings(String netns, String iface, int prefixLength, Path bundles, String cgroupParent,
                           boolean lazyRestore, boolean holdPackets) {
        public Path netnsPath() {
            return Path.of("/var/run/netns", netns);
        }
    }

    private final String self;
    private final Settings settings;
    private final ClusterNode node;
    private final ContainerRuntime runtime;
    private final FloatingIpService ips;
    private final ScheduledExecutorService loop;
    private Path criuDir; // guarded by this
    private TmpfsMounts tmpfs; // guarded by this
    private final Object holds = new Object(); // not this: preparing the chain runs iptables (~20-50 ms)
    private Path mmhold; // guarded by holds; extracted, and the namespace's chain prepared, on first use
    private final AtomicBoolean pending = new AtomicBoolean();
    /** Per container: failures in a row, and when to try again (backs off to 30 s). */
    private final Map<String, long[]> backoff = new HashMap<>();
    private final MeshStateMachine.AppliedListener listener = new MeshStateMachine.AppliedListener() {
        @Override
        public void onApplied(long index, Command command, CommandResult result) {
            if (result.getApplied() && ContainerPlan.affectsContainers(command)) trigger();
        }

        @Override
        public void onReset(long index) {
            trigger();
        }
    };

    private ContainerHost(String self, Settings settings, ClusterNode node, ContainerRuntime runtime,
                          FloatingIpService ips) {
        this.self = self;
        this.settings = settings;
        this.node = node;
        this.runtime = runtime;
        this.ips = ips;
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "container-host-" + self);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts reconciling at once; the floating-IP lease is renewed by {@code contact}. */
    public static ContainerHost start(String self, Settings settings, ClusterNode node, ContainerRuntime runtime,
                                      MajorityContact contact, Duration lease, Clock clock) {
        FloatingIpService.Config ipConfig = FloatingIpService.Config.defaults(settings.iface(), settings.netns());
        ipConfig = new FloatingIpService.Config(ipConfig.iface(), ipConfig.namespace(), lease, ipConfig.leaseCheck(),
                ipConfig.reconcileEvery(), ipConfig.announce());
        FloatingIpService ips = FloatingIpService.start(ipConfig,
                () -> node.read(s -> ClusterOwnership.of(s, self, settings.prefixLength())), contact, clock);
        ContainerHost host = new ContainerHost(self, settings, node, runtime, ips);
        node.stateMachine().addListener(host.listener);
        host.loop.scheduleWithFixedDelay(host::reconcile, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        return host;
    }

    public ContainerRuntime runtime() {
        return runtime;
    }

    public Settings settings() {
        return settings;
    }

    /** A floating IP of the cluster's state as an address on this host's interface. */
    public FloatingAddress address(String floatingIp) {
        return FloatingAddress.parse(floatingIp + "/" + settings.prefixLength());
    }

    /** Puts {@code c}'s floating IP (if any) on this host at the epoch the cluster gives it now, announced. */
    public void claimFloatingIp(Container c) {
        if (c.getFloatingIp().isEmpty()) return;
        long ipEpoch = node.read(s -> s.ip(c.getFloatingIp()).map(ip -> ip.getEpoch()).orElse(c.getEpoch()));
        ips.claim(address(c.getFloatingIp()), ipEpoch);
    }

    /**
     * Writes this host's bundle for {@code c}: its own network namespace and cgroup path, rooted at
     * the spec's prepared rootfs (which must be on this host) or at a rootfs made for its workload.
     * Its CRIU configuration is set for a restore (see {@link CriuConfig}): the container joins this
     * host's namespace, where CRIU has no lock of its own to lift, and no action script (CRIU would
     * run it at six points of every restore, each a process of its own, for nothing).
     */
    public Path writeBundle(Container c) throws IOException {
        return writeBundle(c, tmpfs().mountFresh(c.getId()));
    }

    /**
     * As {@link #writeBundle(Container)}, for restoring {@code c} here from {@code images} after its
     * migration failed: its tmpfs mounts as they are, if they are still here (untouched since the
     * freeze: nothing of it ran after), else fresh ones filled from the image's archives of them.
     */
    public Path writeBundleToRollBack(Container c, Path images) throws IOException {
        TmpfsMounts t = tmpfs();
        if (t.mountedAll(c.getId())) return writeBundle(c, t.dir(c.getId()));
        Path dir = t.mountFresh(c.getId());
        t.fill(c.getId(), images);
        return writeBundle(c, dir);
    }

    private Path writeBundle(Container c, Path tmpfsDir) throws IOException {
        BundleSpec spec = BundleSpec.of(c.getSpec().getArgsList(), settings.netnsPath(),
                settings.cgroupParent() + "/" + c.getId()).withCriuConfig(writeCriuConfig(c.getId(), false, false))
                .withTmpfsDir(tmpfsDir);
        Path bundle = settings.bundles().resolve(c.getId());
        if (!c.getSpec().getRootfs().isEmpty()) {
            return PreparedRootfs.bundle(c.getId(), bundle, Path.of(c.getSpec().getRootfs()), spec);
        }
        return Workloads.bundle(bundle, c.getSpec().getWorkload(), spec);
    }

    /**
     * Sets container {@code id}'s CRIU configuration for its next dump: CRIU locks the network
     * namespace only if the container's processes (init {@code initPid}) hold TCP sockets, whose
     * peers the lock keeps from seeing resets. Returns whether it will lock.
     */
    public boolean prepareDump(String id, int initPid) throws IOException {
        boolean tcp = ContainerSockets.holdsTcp(id, initPid);
        writeCriuConfig(id, true, tcp);
        return tcp;
    }

    /**
     * Writes the CRIU configuration file that container {@code id}'s bundle names: for a dump the
     * action script {@code mmfreeze}, which freezes the container's cgroup right before CRIU seizes
     * its tasks (see agent/src/main/c/mmfreeze.c), and whether CRIU locks the network.
     */
    private Path writeCriuConfig(String id, boolean dump, boolean networkLock) throws IOException {
        Path conf = criuDir().resolve(id + ".conf");
        new CriuConfig(dump ? criuDir().resolve("mmfreeze") : null, networkLock, runtime.maskSource()).write(conf);
        return conf;
    }

    /**
     * The tmpfs mounts of the containers here ({@link TmpfsMounts}), next to the bundles; mmtar
     * extracted there on first use.
     */
    public synchronized TmpfsMounts tmpfs() throws IOException {
        if (tmpfs == null) {
            Path dir = settings.bundles().toAbsolutePath().resolveSibling("tmpfs");
            Path mmtar = Workloads.extract("mmtar", criuDir().resolve("mmtar"));
            tmpfs = runtime.tmpfsMounts(dir, mmtar);
        }
        return tmpfs;
    }

    /** Unmounts container {@code id}'s tmpfs mounts here, saying so if that fails (they cost memory, nothing else). */
    public void releaseTmpfs(String id) {
        releaseTmpfsIfOlder(id, java.time.Duration.ZERO);
    }

    /**
     * Unmounts container {@code id}'s tmpfs mounts here if this agent did not mount them within
     * {@code age} ({@link TmpfsMounts#releaseIfOlder}); whether it did. A failure is said and counts as released
     * (they cost memory, nothing else).
     */
    public boolean releaseTmpfsIfOlder(String id, java.time.Duration age) {
        try {
            return tmpfs().releaseIfOlder(id, age);
        } catch (IOException | RuntimeException e) {
            log.warn("could not unmount the tmpfs mounts of container {} agent={} reason={}", id, self, e.getMessage());
            return true;
        }
    }

    /**
     * Holds the packets to container {@code c}'s floating IP here, from now until the hold is
     * released, each until a socket takes it ({@link PacketHold}): for a restore of {@code c} in
     * migration {@code migrationId}, mmhold's output in {@code dir}. Empty if {@code c} has no
     * floating IP or this host does not hold packets.
     */
    public Optional<PacketHold> holdPackets(Container c, String migrationId, Path dir) throws IOException {
        if (c.getFloatingIp().isEmpty() || !settings.holdPackets()) return Optional.empty();
        Path criu = criuDir();
        Path helper;
        synchronized (holds) {
            if (mmhold == null) {
                Path extracted = Workloads.extract("mmhold", criu.resolve("mmhold"));
                runtime.preparePacketHolds(settings.netns());
                mmhold = extracted;
            }
            helper = mmhold;
        }
        return Optional.of(runtime.holdPackets(helper, settings.netns(), c.getFloatingIp(), c.getId(), migrationId, dir));
    }

    /**
     * Has the pages image of {@code running}'s first process (its init: CRIU's pages-1.img) in a
     * final dump into {@code images} (CRIU's work directory {@code workDir}) taken through a FIFO
     * into pages allocated now, while it runs ({@link PagesFifo}): CRIU's writing of it leaves the
     * freeze. Only for a container whose dump runs the action script (which waits for the image
     * to be whole before CRIU ends the tasks). Empty, said why, if it cannot be: the dump then
     * writes the image itself, as without it.
     */
    public Optional<PagesFifo> pagesFifo(ContainerState running, Path images, Path workDir) {
        String id = running.id();
        try {
            if (!Runc.hasCriuConfig(running.bundle())) return Optional.empty();
            Optional<Long> bytes = PagesFifo.allocationFor(
                    Files.readString(Path.of("/proc", Integer.toString(running.pid()), "smaps_rollup")));
            if (bytes.isEmpty()) return Optional.empty();
            Path mmpages = criuDir().resolve("mmpages");
            synchronized (this) {
                if (!Files.isExecutable(mmpages)) Workloads.extract("mmpages", mmpages);
            }
            return Optional.of(runtime.pagesFifo(mmpages, id, images, workDir, 1, bytes.get()));
        } catch (IOException | RuntimeException e) {
            log.warn("the dump of container {} writes its pages image itself agent={} reason={}", id, self, e.getMessage());
            return Optional.empty();
        }
    }

    /** Where the CRIU configurations and the action script live, next to the bundles; made on first use. */
    private synchronized Path criuDir() throws IOException {
        if (criuDir == null) {
            Path dir = settings.bundles().toAbsolutePath().resolveSibling("criu");
            Workloads.extract("mmfreeze", dir.resolve("mmfreeze"));
            criuDir = dir;
        }
        return criuDir;
    }

    public FloatingIpService floatingIps() {
        return ips;
    }

    /**
     * This host's neighbours in the subnet of {@code c}'s floating IP, for the host that takes the
     * container over (see {@link org.migrationmesh.ipfloat.Neighbour}); none without a floating IP.
     */
    public List<org.migrationmesh.proto.migration.Neighbour> neighboursOf(Container c) {
        if (c.getFloatingIp().isEmpty()) return List.of();
        return ips.neighbours(address(c.getFloatingIp())).stream()
                .map(n -> org.migrationmesh.proto.migration.Neighbour.newBuilder()
                        .setAddress(n.address().getHostAddress()).setLladdr(n.lladdr()).build())
                .toList();
    }

    /**
     * Adds the neighbours the previous host of {@code c} had in its floating IP's subnet that this
     * host lacks (as STALE entries, confirmed by the kernel on first use); returns how many. An
     * entry that is not an address and a link-layer address is refused, naming it.
     */
    public int learnNeighbours(Container c, List<org.migrationmesh.proto.migration.Neighbour> offered) {
        if (c.getFloatingIp().isEmpty() || offered.isEmpty()) return 0;
        List<org.migrationmesh.ipfloat.Neighbour> parsed = new java.util.ArrayList<>();
        for (org.migrationmesh.proto.migration.Neighbour n : offered) {
            parsed.add(new org.migrationmesh.ipfloat.Neighbour(FloatingAddress.parse(n.getAddress()).address(), n.getLladdr()));
        }
        return ips.learnNeighbours(address(c.getFloatingIp()), parsed).size();
    }

    private void trigger() {
        if (pending.compareAndSet(false, true)) loop.execute(this::reconcile);
    }

    private void reconcile() {
        pending.set(false);
        try {
            Collection<Container> cluster = node.read(s -> List.copyOf(s.containers().values()));
            Map<String, ContainerState> local = new HashMap<>();
            for (ContainerState s : runtime.runc().list()) local.put(s.id(), s);
            long now = System.nanoTime();
            for (ContainerPlan.Action a : ContainerPlan.plan(self, cluster, local)) {
                long[] b = backoff.get(a.containerId());
                if (b != null && now < b[1]) continue;
                if (apply(a)) backoff.remove(a.containerId());
                else {
                    long failures = b == null ? 1 : b[0] + 1;
                    long delayMs = Math.min(30_000, 500L << Math.min(6, failures - 1));
                    backoff.put(a.containerId(), new long[] {failures, now + delayMs * 1_000_000});
                }
            }
        } catch (RuntimeException e) {
            log.warn("reconcile failed agent={} reason={}", self, e.getMessage());
        }
    }

    /** Does one action; false if it failed (it is retried after a back-off). */
    private boolean apply(ContainerPlan.Action action) {
        MDC.put("container", action.containerId());
        try {
            if (action instanceof ContainerPlan.Start s) {
                start(s.container());
            } else if (action instanceof ContainerPlan.Restart r) {
                log.info("container exited, restarting container={}", r.containerId());
                runtime.runc().delete(r.containerId(), true);
                releaseTmpfs(r.containerId());
                start(r.container());
            } else if (action instanceof ContainerPlan.Stop s) {
                runtime.runc().delete(s.containerId(), true);
                releaseTmpfs(s.containerId());
                log.info("container stopped container={}", s.containerId());
            }
            return true;
        } catch (RuntimeFailure | FloatingIpException | IOException e) {
            log.warn("cannot bring container to its cluster state container={} action={} reason={}; will retry",
                    action.containerId(), action.getClass().getSimpleName(), e.getMessage());
            return false;
        } finally {
            MDC.remove("container");
        }
    }

    private void start(Container c) throws IOException {
        long t0 = System.nanoTime();
        // The container binds its floating IP: it must be here first.
        claimFloatingIp(c);
        ContainerState started = runtime.runc().run(c.getId(), writeBundle(c));
        log.info("container started container={} pid={} epoch={} ms={}", c.getId(), started.pid(), c.getEpoch(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    /** Stops reconciling and releases the floating IPs; containers keep running (a restart finds them). */
    @Override
    public void close() throws Exception {
        node.stateMachine().removeListener(listener);
        loop.shutdownNow();
        ips.close();
    }
}
