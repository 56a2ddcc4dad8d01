package org.migrationmesh.agent.host;

import org.migrationmesh.agent.runtime.CommandRunner;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.agent.runtime.Runc;
import org.migrationmesh.agent.sim.AgentProcesses;
import org.migrationmesh.agent.sim.SimulatedNetwork;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    final String cluster;
    private final AgentProcesses agents;

    /** What agentctl printed and how it exited. */
    record Result(int exit, String out, String err) {}

    HostAgents(String tag, int n) throws IOException {
        this(tag, n, Map.of());
    }

    /** {@code env}: extra environment variables of some agents, by agent id. */
    HostAgents(String tag, int n, Map<String, Map<String, String>> env) throws IOException {
        net = SimulatedNetwork.create(tag);
        try {
            base = Path.of("/var/tmp", net.prefix());
            Map<String, SimulatedNetwork.Host> hosts = new LinkedHashMap<>();
            for (int i = 1; i <= n; i++) hosts.put("a" + i, net.addHost("h" + i));
            client = net.addHost("client");
            agents = new AgentProcesses(base, null, hosts, null, 500, TEST_JVM, env);
            cluster = agents.cluster();
        } catch (IOException | RuntimeException e) {
            net.close();
            throw e;
        }
    }

    SimulatedNetwork.Host host(String agent) {
        return agents.host(agent);
    }

    String control(String agent) {
        return agents.control(agent);
    }

    void start(String id) throws IOException {
        agents.start(id);
    }

    /** kill -9 of one agent. */
    void kill(String id) throws InterruptedException {
        agents.kill(id);
    }

    /** Runs agentctl in the client namespace against agent {@code peer}. */
    Result agentctl(String peer, String... args) throws IOException, InterruptedException {
        AgentProcesses.Result r = agents.agentctl(client, peer, 60, args);
        return new Result(r.exit(), r.out(), r.err());
    }

    /** Agent {@code id}'s run directory: runc's state, the images it dumps ("migrations") and receives ("incoming"). */
    Path runDir(String id) {
        return agents.runDir(id);
    }

    /** The runc that agent {@code id} uses (its own root under its run directory). */
    Runc runc(String id) {
        return agents.runc(id);
    }

    CommandRunner.Execution inHost(String agent, String... argv) throws IOException {
        return net.exec(agents.host(agent), Duration.ofSeconds(20), argv);
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
        return Files.readString(agents.log(agent));
    }

    /** Whether {@code ip} is on {@code agent}'s interface. */
    boolean holds(String agent, String ip) throws IOException {
        return inHost(agent, "ip", "-o", "addr", "show", "dev", "eth0").stdout().contains(ip + "/");
    }

    String logTails() {
        return agents.logTails(12);
    }

    boolean running(String agent, String container) {
        return runc(agent).find(container).map(ContainerState::running).orElse(false);
    }

    @Override
    public void close() {
        String keep = System.getProperty("hostagents.keepLogs");
        if (keep != null) {
            // -Dhostagents.keepLogs=DIR: the agents' logs outlive the run, for a failure's post-mortem.
            try (var logs = Files.newDirectoryStream(base, "*.log")) {
                Path to = Files.createDirectories(Path.of(keep, net.prefix()));
                for (Path l : logs) Files.copy(l, to.resolve(l.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException ignored) {
                // best effort
            }
        }
        agents.close();
        net.close();
    }

    /** memhog's answer over UDP from the client namespace: {rounds, start}; waits up to 30 s for one. */
    long[] memhog(String ip) throws InterruptedException {
        Path probe = base.resolve("mmprobe");
        return await(Duration.ofSeconds(30), "memhog to answer", () -> {
            try {
                if (!Files.exists(probe)) org.migrationmesh.agent.runtime.Workloads.extract("mmprobe", probe);
                String out = net.exec(client, Duration.ofSeconds(10), probe.toString(), "udp", ip, "7001", "100", "1").stdout();
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("rounds (\\d+) dirtied \\d+ start (\\d+)").matcher(out);
                long[] last = null;
                while (m.find()) last = new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
                return last;
            } catch (Exception e) {
                return null;
            }
        });
    }
}
