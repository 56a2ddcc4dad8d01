package org.migrationmesh.agent.daemon;

import io.grpc.ManagedChannel;
import org.migrationmesh.cluster.ClusterClient;
import org.migrationmesh.cluster.Peer;
import org.migrationmesh.proto.control.ClusterStatusReply;
import org.migrationmesh.proto.control.ClusterStatusRequest;
import org.migrationmesh.proto.control.ControlGrpc;
import org.migrationmesh.rpc.RpcEndpoints;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Agents as separate JVM processes on loopback, each with its own free ports, config file and data
 * directory under a base directory. Kill is {@code destroyForcibly} (SIGKILL); close kills them all.
 */
public final class LocalCluster implements AutoCloseable {
    public record Agent(String id, String raftAddress, String controlAddress, Path config, Path log) {}

    private final Path base;
    private final String clusterName;
    private final Map<String, Agent> agents = new LinkedHashMap<>();
    private final Map<String, Process> processes = new ConcurrentHashMap<>();
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final List<String> jvmOptions;

    private LocalCluster(Path base, String clusterName, List<String> jvmOptions) {
        this.base = base;
        this.clusterName = clusterName;
        this.jvmOptions = List.copyOf(jvmOptions);
    }

    /** Small heaps, serial GC and C1 only: quick to start, light on a shared 2-core machine. */
    static final List<String> TEST_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    /** Writes configs for {@code n} agents (a1..an) and starts them all. */
    public static LocalCluster start(int n, Path base) throws IOException {
        return start(n, base, null);
    }

    /** As {@link #start(int, Path)}, with a snapshot every {@code snapshotThreshold} entries (null: default). */
    public static LocalCluster start(int n, Path base, Long snapshotThreshold) throws IOException {
        return start(n, base, snapshotThreshold, TEST_JVM);
    }

    /** As {@link #start(int, Path, Long)}, with the given JVM options for the agent processes. */
    public static LocalCluster start(int n, Path base, Long snapshotThreshold, List<String> jvmOptions)
            throws IOException {
        LocalCluster c = new LocalCluster(base, "it-" + UUID.randomUUID().toString().substring(0, 8), jvmOptions);
        List<AgentConfig.PeerConfig> peers = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            peers.add(new AgentConfig.PeerConfig("a" + i, "127.0.0.1:" + freePort(), "127.0.0.1:" + freePort()));
        }
        for (AgentConfig.PeerConfig p : peers) {
            Path dir = Files.createDirectories(base.resolve(p.id()));
            AgentConfig config = new AgentConfig(p.id(), c.clusterName, p.raftAddress(), p.controlAddress(),
                    "region-" + p.id(), dir.resolve("data"), null, peers,
                    snapshotThreshold == null ? null : new AgentConfig.RaftConfig(null, null, null, null, snapshotThreshold),
                    500L, null, null);
            Path file = dir.resolve("agent.json");
            config.write(file);
            c.agents.put(p.id(), new Agent(p.id(), p.raftAddress(), p.controlAddress(), file, dir.resolve("agent.log")));
        }
        // Should the test JVM exit without closing (Ctrl-C, System.exit), the agents go with it.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> c.processes.values().forEach(Process::destroyForcibly)));
        try {
            for (String id : c.agents.keySet()) c.startAgent(id);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    /**
     * Writes the config of a new agent that is not yet in the Raft group: its peer list is the
     * existing agents plus itself. Start it with {@link #startAgent}, then add it with AddMember.
     */
    public Agent prepareJoiner(String id) throws IOException {
        List<AgentConfig.PeerConfig> peers = new ArrayList<>();
        for (Agent a : agents.values()) peers.add(new AgentConfig.PeerConfig(a.id(), a.raftAddress(), a.controlAddress()));
        AgentConfig.PeerConfig self = new AgentConfig.PeerConfig(id, "127.0.0.1:" + freePort(), "127.0.0.1:" + freePort());
        peers.add(self);
        Path dir = Files.createDirectories(base.resolve(id));
        AgentConfig config = new AgentConfig(id, clusterName, self.raftAddress(), self.controlAddress(),
                "region-" + id, dir.resolve("data"), null, peers, null, 500L, null, null);
        Path file = dir.resolve("agent.json");
        config.write(file);
        Agent agent = new Agent(id, self.raftAddress(), self.controlAddress(), file, dir.resolve("agent.log"));
        agents.put(id, agent);
        return agent;
    }

    /** Starts (or restarts, on its existing data directory) one agent process. */
    public void startAgent(String id) throws IOException {
        Agent a = agents.get(id);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                "org.migrationmesh.agent.AgentMain", "--config", a.config().toString()));
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(a.log().toFile()));
        processes.put(id, pb.start());
    }

    /** kill -9. */
    public void kill(String id) throws InterruptedException {
        Process p = processes.remove(id);
        if (p == null) return;
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
    }

    public boolean isRunning(String id) {
        Process p = processes.get(id);
        return p != null && p.isAlive();
    }

    public List<String> ids() {
        return List.copyOf(agents.keySet());
    }

    public Agent agent(String id) {
        return agents.get(id);
    }

    public ControlGrpc.ControlBlockingStub control(String id) {
        ManagedChannel ch = channels.computeIfAbsent(id, k -> RpcEndpoints.channel(agents.get(k).controlAddress()));
        return ControlGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    ControlGrpc.ControlStub asyncControl(String id) {
        ManagedChannel ch = channels.computeIfAbsent(id, k -> RpcEndpoints.channel(agents.get(k).controlAddress()));
        return ControlGrpc.newStub(ch);
    }

    /** A Raft client of this cluster, from the test JVM (for phase commands the data plane will send later). */
    public ClusterClient raftClient() {
        List<Peer> peers = agents.values().stream().map(a -> new Peer(a.id(), a.raftAddress())).toList();
        AgentConfig any = AgentConfig.load(agents.values().iterator().next().config());
        return ClusterClient.connect(any.nodeSettings().groupUuid(), peers, any.timing(), "test client");
    }

    /** The cluster status as seen by one agent, or empty if it does not answer. */
    public Optional<ClusterStatusReply> status(String id) {
        try {
            return Optional.of(control(id).withDeadlineAfter(3, TimeUnit.SECONDS)
                    .clusterStatus(ClusterStatusRequest.getDefaultInstance()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Waits until every running agent agrees on one leader among the running agents; returns its id. */
    public String awaitLeader(Duration timeout) {
        return await(timeout, "a leader agreed by all running agents", () -> {
            String leader = null;
            for (String id : ids()) {
                if (!isRunning(id)) continue;
                Optional<ClusterStatusReply> s = status(id);
                if (s.isEmpty() || s.get().getLeaderId().isEmpty()) return null;
                if (leader != null && !leader.equals(s.get().getLeaderId())) return null;
                leader = s.get().getLeaderId();
            }
            return leader != null && isRunning(leader) ? leader : null;
        });
    }

    /** Polls {@code probe} every 100 ms until it returns non-null; fails with the agents' log tails. */
    public <T> T await(Duration timeout, String what, Supplier<T> probe) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T value = probe.get();
            if (value != null) return value;
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what
                        + "\n" + logTails());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }

    String logTails() {
        StringBuilder sb = new StringBuilder();
        for (Agent a : agents.values()) {
            sb.append("--- ").append(a.id()).append(isRunning(a.id()) ? " (running)" : " (not running)").append('\n');
            try {
                List<String> lines = Files.exists(a.log()) ? Files.readAllLines(a.log(), StandardCharsets.UTF_8) : List.of();
                int firstError = -1;
                for (int i = 0; i < lines.size() && firstError < 0; i++) {
                    if (lines.get(i).contains("level=ERROR")) firstError = i;
                }
                if (firstError >= 0) {
                    sb.append("first error:\n");
                    lines.subList(firstError, Math.min(lines.size(), firstError + 25))
                            .forEach(l -> sb.append("  ").append(l).append('\n'));
                }
                sb.append("last lines:\n");
                lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("(log unreadable: ").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        for (Process p : processes.values()) p.destroyForcibly();
        for (Process p : processes.values()) {
            try {
                p.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }

    Path base() {
        return base;
    }
}
