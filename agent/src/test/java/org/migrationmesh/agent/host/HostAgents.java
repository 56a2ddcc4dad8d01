package org.migrationmesh.agent.host;

import org.migrationmesh.agent.daemon.AgentConfig;
import org.migrationmesh.agent.runtime.CommandRunner;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.Runc;
import org.migrationmesh.agent.runtime.RuncConfig;
import org.migrationmesh.agent.sim.Cgroups;
import org.migrationmesh.agent.sim.SimulatedNetwork;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Agents as separate JVMs, each in its own simulated host (network namespace) with a runtime,
 * and agentctl run from a client namespace. Everything is removed by {@link #close()}:
 * agents, containers, namespaces, cgroups and data.
 */
final class HostAgents implements AutoCloseable {
    static final List<String> TEST_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    final SimulatedNetwork net;
    final SimulatedNetwork.Host client;
    final Path base;
    final String cluster = "it-" + UUID.randomUUID().toString().substring(0, 8);
    private final Map<String, SimulatedNetwork.Host> hostOf = new LinkedHashMap<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    /** Extra environment per agent (e.g. MM_FAILPOINTS), kept for restarts. */
    private final Map<String, Map<String, String>> envOf;
    private final CommandRunner runner = new ProcessCommandRunner();

    record Result(int exit, String out, String err) {}

    HostAgents(String tag, int n) throws IOException {
        this(tag, n, Map.of());
    }

    /** {@code env}: extra environment variables of some agents, by agent id. */
    HostAgents(String tag, int n, Map<String, Map<String, String>> env) throws IOException {
        envOf = Map.copyOf(env);
        net = SimulatedNetwork.create(tag);
        try {
            base = Files.createDirectories(Path.of("/var/tmp", net.prefix()));
            List<AgentConfig.PeerConfig> peers = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                SimulatedNetwork.Host h = net.addHost("h" + i);
                hostOf.put("a" + i, h);
                peers.add(new AgentConfig.PeerConfig("a" + i, h.address() + ":7000", h.address() + ":7100"));
            }
            client = net.addHost("client");
            for (AgentConfig.PeerConfig p : peers) {
                SimulatedNetwork.Host h = hostOf.get(p.id());
                AgentConfig config = new AgentConfig(p.id(), cluster, p.raftAddress(), p.controlAddress(), "r-" + p.id(),
                        base.resolve(p.id()), peers, null, 500L, null,
                        new AgentConfig.RuntimeConfig(h.netns(), "eth0", 24));
                Files.createDirectories(base.resolve(p.id()));
                config.write(base.resolve(p.id() + ".json"));
            }
            for (String id : hostOf.keySet()) start(id);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    SimulatedNetwork.Host host(String agent) {
        return hostOf.get(agent);
    }

    String control(String agent) {
        return hostOf.get(agent).address() + ":7100";
    }

    void start(String id) throws IOException {
        // nsenter, not `ip netns exec`: the latter remounts /sys, hiding the cgroup mounts runc needs.
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + hostOf.get(id).netnsPath(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(TEST_JVM);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.migrationmesh.agent.AgentMain",
                "--config", base.resolve(id + ".json").toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(base.resolve(id + ".log").toFile()));
        pb.environment().putAll(envOf.getOrDefault(id, Map.of()));
        processes.put(id, pb.start());
    }

    /** kill -9 of one agent. */
    void kill(String id) throws InterruptedException {
        Process p = processes.get(id);
        if (p != null) {
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
        }
    }

    /** Runs agentctl in the client namespace against agent {@code peer}. */
    Result agentctl(String peer, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", client.netns(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(TEST_JVM);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.migrationmesh.agent.cli.AgentCtl",
                "--peer", control(peer)));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(base, "ctl", ".out");
        Path err = Files.createTempFile(base, "ctl", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("agentctl " + String.join(" ", args) + " did not finish in 60 s");
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** The runc that agent {@code id} uses (its own root under its data directory). */
    Runc runc(String id) {
        return new Runc(RuncConfig.defaults(base.resolve(id).resolve("runc").toAbsolutePath(),
                base.resolve("test-runc-logs")), runner);
    }

    CommandRunner.Execution inHost(String agent, String... argv) throws IOException {
        return net.exec(hostOf.get(agent), Duration.ofSeconds(20), argv);
    }

    /** Polls {@code probe} every 200 ms until non-null; fails with the agents' log tails. */
    <T> T await(Duration timeout, String what, Supplier<T> probe) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T v = probe.get();
            if (v != null) return v;
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what + "\n" + logTails());
            Thread.sleep(200);
        }
    }

    /** Waits until {@code n} members have joined with a container runtime. */
    void awaitMembers(int n) throws InterruptedException {
        await(Duration.ofSeconds(90), n + " members with a runtime", () -> {
            try {
                Result r = agentctl("a1", "members");
                return r.exit() == 0 && r.out().split("criu 4", -1).length == n + 1 ? r : null;
            } catch (Exception e) {
                return null;
            }
        });
    }

    /** What `agentctl ps CONTAINER` prints, asked of {@code peer}; null if it failed. */
    String ps(String peer, String container) {
        try {
            Result r = agentctl(peer, "ps", container);
            return r.exit() == 0 ? r.out() : null;
        } catch (Exception e) {
            return null;
        }
    }

    /** The agent's log so far. */
    String log(String agent) throws IOException {
        return Files.readString(base.resolve(agent + ".log"));
    }

    /** Whether {@code ip} is on {@code agent}'s interface. */
    boolean holds(String agent, String ip) throws IOException {
        return inHost(agent, "ip", "-o", "addr", "show", "dev", "eth0").stdout().contains(ip + "/");
    }

    String logTails() {
        StringBuilder sb = new StringBuilder();
        for (String id : hostOf.keySet()) {
            try {
                List<String> lines = Files.readAllLines(base.resolve(id + ".log"), StandardCharsets.UTF_8);
                sb.append("--- ").append(id).append('\n');
                lines.subList(Math.max(0, lines.size() - 12), lines.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("--- ").append(id).append(": no log\n");
            }
        }
        return sb.toString();
    }

    boolean running(String agent, String container) {
        return runc(agent).find(container).map(ContainerState::running).orElse(false);
    }

    @Override
    public void close() {
        for (Process p : processes.values()) p.destroyForcibly();
        for (Process p : processes.values()) {
            try {
                p.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String id : hostOf.keySet()) {
            try {
                Runc r = runc(id);
                for (ContainerState s : r.list()) r.delete(s.id(), true);
            } catch (RuntimeException ignored) {
                // keep cleaning
            }
        }
        net.close();
        for (String id : hostOf.keySet()) Cgroups.removeTree("/migration-mesh/" + cluster + "-" + id);
        String keep = System.getProperty("hostagents.keepLogs");
        if (keep != null && base != null) {
            // -Dhostagents.keepLogs=DIR: the agents' logs outlive the run, for a failure's post-mortem.
            try (var logs = Files.newDirectoryStream(base, "*.log")) {
                Path to = Files.createDirectories(Path.of(keep, net.prefix()));
                for (Path l : logs) Files.copy(l, to.resolve(l.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException ignored) {
                // best effort
            }
        }
        try {
            if (base != null) Images.delete(base);
        } catch (IOException ignored) {
            // best effort: the next run uses another directory
        }
    }
}
