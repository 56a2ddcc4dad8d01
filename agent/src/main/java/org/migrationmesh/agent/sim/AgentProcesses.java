package org.migrationmesh.agent.sim;

import org.migrationmesh.agent.daemon.AgentConfig;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.Runc;
import org.migrationmesh.agent.runtime.RuncConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Agents as separate processes (JVMs), one per simulated host, each in its host's network
 * namespace with its own data directory, run directory (runc root, images) and cgroup path, all in one
 * cluster; and agentctl run from a client host. {@link #close()} stops them and removes their
 * containers, cgroups, data and run directories (the namespaces belong to the {@link SimulatedNetwork}).
 */
public final class AgentProcesses implements AutoCloseable {
    /** Raft and control ports of every agent (each host has its own address). */
    public static final int RAFT_PORT = 7000;
    public static final int CONTROL_PORT = 7100;

    private final Path base;
    private final Path run;
    private final Map<String, Map<String, String>> envOf;
    private final String cluster = "mm-" + UUID.randomUUID().toString().substring(0, 8);
    private final List<String> jvm;
    private final Map<String, SimulatedNetwork.Host> hostOf = new LinkedHashMap<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();

    /** What agentctl printed and how it exited. */
    public record Result(int exit, String out, String err) {}

    /**
     * Writes a configuration for an agent on each of {@code hosts} (agent id = key) under
     * {@code base} and starts them. {@code raftRttMillis} is the worst round trip between two
     * of them (null: the default), {@code jvm} the agents' JVM options.
     */
    public AgentProcesses(Path base, Map<String, SimulatedNetwork.Host> hosts, Long raftRttMillis, long heartbeatMillis,
                          List<String> jvm) throws IOException {
        this(base, null, hosts, raftRttMillis, heartbeatMillis, jvm, Map.of());
    }

    /**
     * As above, with each agent's run directory (runc's state, images) under {@code run} (null: in
     * its data directory) and extra environment variables for some agents (e.g. MM_FAILPOINTS), by agent id.
     */
    public AgentProcesses(Path base, Path run, Map<String, SimulatedNetwork.Host> hosts, Long raftRttMillis,
                          long heartbeatMillis, List<String> jvm, Map<String, Map<String, String>> env) throws IOException {
        this.base = base;
        this.run = run;
        this.jvm = List.copyOf(jvm);
        this.envOf = Map.copyOf(env);
        try {
            Files.createDirectories(base);
            List<AgentConfig.PeerConfig> peers = new ArrayList<>();
            for (Map.Entry<String, SimulatedNetwork.Host> e : hosts.entrySet()) {
                hostOf.put(e.getKey(), e.getValue());
                String address = e.getValue().address();
                peers.add(new AgentConfig.PeerConfig(e.getKey(), address + ":" + RAFT_PORT, address + ":" + CONTROL_PORT));
            }
            AgentConfig.RaftConfig raft = raftRttMillis == null ? null
                    : new AgentConfig.RaftConfig(raftRttMillis, null, null, null, null);
            for (AgentConfig.PeerConfig p : peers) {
                SimulatedNetwork.Host h = hostOf.get(p.id());
                AgentConfig config = new AgentConfig(p.id(), cluster, p.raftAddress(), p.controlAddress(), h.name(),
                        base.resolve(p.id()), runDir(p.id()), peers, raft, heartbeatMillis, null,
                        new AgentConfig.RuntimeConfig(h.netns(), h.iface(), 24, null, null));
                Files.createDirectories(base.resolve(p.id()));
                config.write(base.resolve(p.id() + ".json"));
            }
            for (String id : hostOf.keySet()) start(id);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    public SimulatedNetwork.Host host(String agent) {
        SimulatedNetwork.Host h = hostOf.get(agent);
        if (h == null) throw new IllegalArgumentException("no agent '" + agent + "', have " + hostOf.keySet());
        return h;
    }

    public List<String> ids() {
        return List.copyOf(hostOf.keySet());
    }

    public String cluster() {
        return cluster;
    }

    public Path base() {
        return base;
    }

    public String control(String agent) {
        return host(agent).address() + ":" + CONTROL_PORT;
    }

    /** Starts (or starts again) agent {@code id}; its output is appended to {@code base/ID.log}. */
    public void start(String id) throws IOException {
        // nsenter, not `ip netns exec`: the latter remounts /sys, hiding the cgroup mounts runc needs.
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + host(id).netnsPath(), java()));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.migrationmesh.agent.AgentMain",
                "--config", base.resolve(id + ".json").toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(id).toFile()));
        pb.environment().putAll(envOf.getOrDefault(id, Map.of()));
        processes.put(id, pb.start());
    }

    /** kill -9 of one agent. */
    public void kill(String id) throws InterruptedException {
        Process p = processes.get(id);
        if (p != null) {
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
        }
    }

    public Path log(String id) {
        return base.resolve(id + ".log");
    }

    /**
     * Runs agentctl in {@code client}'s namespace against agent {@code peer}; gives up after
     * {@code timeoutSeconds}.
     */
    public Result agentctl(SimulatedNetwork.Host client, String peer, long timeoutSeconds, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", client.netns(), java()));
        cmd.addAll(org.migrationmesh.agent.cli.AgentCtl.JVM_OPTIONS);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.migrationmesh.agent.cli.AgentCtl",
                "--peer", control(peer)));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(base, "ctl", ".out");
        Path err = Files.createTempFile(base, "ctl", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("agentctl " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Agent {@code id}'s run directory as its configuration says (see {@link AgentConfig#runDir()}). */
    public Path runDir(String id) {
        return (run == null ? base.resolve(id).resolve("run") : run.resolve(id)).toAbsolutePath();
    }

    /** The runc that agent {@code id} uses (its own root under its run directory). */
    public Runc runc(String id) {
        return new Runc(RuncConfig.defaults(runDir(id).resolve("runc"), base.resolve("runc-logs")), new ProcessCommandRunner());
    }

    /** The last {@code lines} lines of every agent's log, for error messages. */
    public String logTails(int lines) {
        StringBuilder sb = new StringBuilder();
        for (String id : hostOf.keySet()) {
            try {
                List<String> all = Files.readAllLines(log(id), StandardCharsets.UTF_8);
                sb.append("--- ").append(id).append('\n');
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("--- ").append(id).append(": no log\n");
            }
        }
        return sb.toString();
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Stops the agents, removes their containers, cgroups, data and run directories. */
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
        for (String id : hostOf.keySet()) Cgroups.removeTree("/migration-mesh/" + cluster + "-" + id);
        try {
            Images.delete(base);
            if (run != null) Images.delete(run);
        } catch (IOException ignored) {
            // best effort: the next run uses another directory
        }
    }
}
