package org.migrationmesh.agent.daemon;

import io.grpc.BindableService;
import io.grpc.Server;
import org.migrationmesh.agent.host.ContainerHost;
import org.migrationmesh.agent.migration.MigrationLeftovers;
import org.migrationmesh.agent.migration.MigrationPeerService;
import org.migrationmesh.agent.migration.MigrationRunner;
import org.migrationmesh.agent.runtime.ContainerRuntime;
import org.migrationmesh.agent.runtime.Criu;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.RuncConfig;
import org.migrationmesh.agent.runtime.RuntimeFailure;
import org.migrationmesh.cluster.ClusterException;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.CommandRefusedException;
import org.migrationmesh.cluster.Commands;
import org.migrationmesh.proto.cluster.Capacity;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.cluster.RefusalCode;
import org.migrationmesh.proto.runtime.RuntimeCapabilities;
import org.migrationmesh.rpc.RpcEndpoints;
import org.migrationmesh.transfer.ImageReceiver;
import org.migrationmesh.transfer.TransferWarmUp;
import org.migrationmesh.transfer.lazy.LazyPageRelayService;
import org.migrationmesh.rpc.RpcEndpoints.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The agent: a Raft peer of the cluster plus the control API, and a liveness loop that joins the
 * member table and then heartbeats through the replicated log.
 */
public final class AgentDaemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentDaemon.class);

    private final AgentConfig config;
    private final ClusterNode node;
    private final Server controlServer;
    private final ScheduledExecutorService liveness;
    private final RuntimeCapabilities capabilities;
    private final CommitContact contact;
    private final ContainerHost host;
    private final MigrationRunner runner;
    private final ImageReceiver receiver;
    private final MigrationLeftovers leftovers;
    private volatile boolean joined;
    private volatile boolean removed;

    private AgentDaemon(AgentConfig config, ClusterNode node, Server controlServer, ScheduledExecutorService liveness,
                        RuntimeCapabilities capabilities, CommitContact contact, ContainerHost host, MigrationRunner runner,
                        ImageReceiver receiver, MigrationLeftovers leftovers) {
        this.config = config;
        this.node = node;
        this.controlServer = controlServer;
        this.liveness = liveness;
        this.capabilities = capabilities;
        this.contact = contact;
        this.host = host;
        this.runner = runner;
        this.receiver = receiver;
        this.leftovers = leftovers;
    }

    /** Starts the Raft peer (recovering its storage if any), the control API and the liveness loop. */
    public static AgentDaemon start(AgentConfig config, Clock clock) throws IOException {
        RuntimeCapabilities capabilities = detectRuntime(config);
        if (config.runtime() != null && capabilities.getCriuVersion().isEmpty()) {
            throw new IllegalStateException("config has a runtime section but this host has no usable runc/CRIU;"
                    + " run scripts/setup-host.sh");
        }
        ClusterNode node = ClusterNode.start(config.nodeSettings(), clock);
        CommitContact contact = new CommitContact();
        ContainerHost host = null;
        MigrationRunner runner = null;
        ImageReceiver receiver = null;
        MigrationLeftovers leftovers = null;
        Server server;
        try {
            Path incoming = config.runDir().resolve("incoming").toAbsolutePath();
            receiver = new ImageReceiver(incoming);
            LazyPageRelayService relay = new LazyPageRelayService();
            List<BindableService> services = new ArrayList<>(List.of(
                    new ControlService(node, directory(config, node), clock), receiver, relay));
            if (config.runtime() != null) {
                host = ContainerHost.start(config.id(), hostSettings(config), node,
                        ContainerRuntime.open(RuncConfig.defaults(config.runDir().resolve("runc").toAbsolutePath(),
                                config.runDir().resolve("runc-logs").toAbsolutePath()), new ProcessCommandRunner()),
                        contact, Duration.ofMillis(3 * config.heartbeatIntervalMillis()), clock);
                Path migrations = config.runDir().resolve("migrations").toAbsolutePath();
                services.add(new MigrationPeerService(config.id(), node, host, receiver, migrations));
                runner = new MigrationRunner(config.id(), node, host, relay, receiver, migrations, clock);
                leftovers = new MigrationLeftovers(config.id(), node, host, receiver,
                        List.of(migrations, incoming));
            }
            HostPort hp = HostPort.parse(config.controlAddress());
            server = RpcEndpoints.startServer(hp.host(), hp.port(), services);
        } catch (IOException | RuntimeException e) {
            closeQuietly(leftovers, runner, host, receiver);
            node.close();
            throw e;
        }
        ScheduledExecutorService liveness = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "liveness-" + config.id());
            t.setDaemon(true);
            return t;
        });
        if (!org.migrationmesh.agent.migration.Failpoints.process().isEmpty()) {
            log.warn("failpoints active id={} points={} (from {}): this agent injects faults on purpose", config.id(),
                    org.migrationmesh.agent.migration.Failpoints.process(), org.migrationmesh.agent.migration.Failpoints.ENV);
        }
        AgentDaemon daemon = new AgentDaemon(config, node, server, liveness, capabilities, contact, host, runner, receiver,
                leftovers);
        liveness.scheduleWithFixedDelay(daemon::livenessTick, 0, config.heartbeatIntervalMillis(), TimeUnit.MILLISECONDS);
        if (host != null) warmUpTransfer(config);
        log.info("agent started id={} pid={} raft={} control={} region={} peers={} timing={} runtime={}", config.id(),
                ProcessHandle.current().pid(),
                config.raftAddress(), config.controlAddress(), config.region(), config.peers().size(), config.timing(),
                host == null ? "none" : config.runtime().netns());
        return daemon;
    }

    /**
     * Runs the image transfer and the tmpfs archives a few times in the background (see
     * {@link TransferWarmUp}, {@link org.migrationmesh.agent.runtime.TmpfsMounts#warmUp}).
     */
    private static void warmUpTransfer(AgentConfig config) {
        Thread t = new Thread(() -> {
            try {
                java.time.Duration took = TransferWarmUp.agent(config.runDir().resolve("warm-up").toAbsolutePath());
                long t0 = System.nanoTime();
                org.migrationmesh.agent.runtime.TmpfsMounts.warmUp(config.runDir().resolve("warm-up-tmpfs").toAbsolutePath());
                log.debug("image transfer warmed up id={} ms={} tmpfsMs={}", config.id(), took.toMillis(),
                        (System.nanoTime() - t0) / 1_000_000);
            } catch (IOException | RuntimeException e) {
                log.warn("image transfer warm-up failed, the first migration will be slower id={} reason={}", config.id(),
                        e.toString());
            }
        }, "transfer-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static void closeQuietly(AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            if (r == null) continue;
            try {
                r.close();
            } catch (Exception e) {
                log.warn("close failed: {}", e.toString());
            }
        }
    }

    /**
     * What this host can do, detected once and reported when joining. A host without a usable
     * runc/CRIU still serves as a Raft peer, but reports no runtime and so is no migration target.
     */
    private static RuntimeCapabilities detectRuntime(AgentConfig config) {
        try {
            RuntimeCapabilities caps = new Criu(Criu.DEFAULT_BINARY, new ProcessCommandRunner()).detect(Path.of("runc"));
            log.info("runtime detected id={} criu={} runc={} dirtyTracking={} lazyPages={}", config.id(),
                    caps.getCriuVersion(), caps.getRuncVersion(), caps.getDirtyTracking(), caps.getLazyPages());
            return caps;
        } catch (RuntimeFailure e) {
            log.warn("no container runtime on this host id={} reason={}; this agent can hold no containers",
                    config.id(), e.getMessage());
            return RuntimeCapabilities.getDefaultInstance();
        }
    }

    private static ContainerHost.Settings hostSettings(AgentConfig config) {
        AgentConfig.RuntimeConfig r = config.runtime();
        return new ContainerHost.Settings(r.netns(), r.iface(), r.floatingPrefix(),
                config.dataDir().resolve("bundles").toAbsolutePath(), "/migration-mesh/" + config.cluster() + "-" + config.id(),
                r.lazyRestore(), r.holdPackets());
    }

    private static ControlDirectory directory(AgentConfig config, ClusterNode node) {
        return agentId -> {
            Optional<String> fromState = node.read(s -> s.member(agentId).map(Member::getControlAddress))
                    .filter(a -> !a.isEmpty());
            if (fromState.isPresent()) return fromState;
            return config.peers().stream().filter(p -> p.id().equals(agentId))
                    .map(AgentConfig.PeerConfig::controlAddress).filter(a -> a != null && !a.isEmpty()).findFirst();
        };
    }

    /**
     * Joins the member table until that succeeds, then heartbeats; failures are retried next tick.
     * An agent removed from the table stops heartbeating (and does not join again until restarted).
     */
    private void livenessTick() {
        if (removed) return;
        try {
            if (!joined) {
                CommandResult joinedAt = node.submit(Commands.join(config.id(), config.raftAddress(),
                        config.controlAddress(), config.region(), capacity(), capabilities));
                joined = true;
                // Committed after this start: once applied here, this replica knows how migrations ended.
                if (leftovers != null) leftovers.sweepAfterCatchUp(joinedAt.getLogIndex());
                log.info("member joined id={} region={}", config.id(), config.region());
            } else {
                node.submit(Commands.heartbeat(config.id()));
            }
            contact.committed();
        } catch (CommandRefusedException e) {
            if (joined && e.code() == RefusalCode.NOT_FOUND) {
                removed = true;
                log.warn("member removed from the cluster id={}; heartbeats stop, restart the agent to join again",
                        config.id());
            } else {
                log.warn("liveness refused id={} reason={}", config.id(), e.getMessage());
            }
        } catch (ClusterException e) {
            log.warn("liveness not committed id={} reason={}", config.id(), e.getMessage());
        }
    }

    private Capacity capacity() {
        Capacity.Builder c = Capacity.newBuilder().setCpus(Runtime.getRuntime().availableProcessors());
        if (config.capacity() != null) {
            if (config.capacity().cpus() != null) c.setCpus(config.capacity().cpus());
            if (config.capacity().memoryBytes() != null) c.setMemoryBytes(config.capacity().memoryBytes());
            if (config.capacity().maxContainers() != null) c.setMaxContainers(config.capacity().maxContainers());
        }
        return c.build();
    }

    public ClusterNode node() {
        return node;
    }

    public AgentConfig config() {
        return config;
    }

    /** The port the control API listens on (useful when configured as 0). */
    public int controlPort() {
        return controlServer.getPort();
    }

    public void awaitTermination() throws InterruptedException {
        controlServer.awaitTermination();
    }

    @Override
    public void close() throws IOException {
        liveness.shutdownNow();
        closeQuietly(leftovers, runner, host, receiver);
        controlServer.shutdown();
        try {
            if (!controlServer.awaitTermination(2, TimeUnit.SECONDS)) controlServer.shutdownNow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            controlServer.shutdownNow();
        } finally {
            node.close();
            log.info("agent stopped id={}", config.id());
        }
    }
}
