package org.migrationmesh.agent.sim;

import org.migrationmesh.agent.runtime.Command;
import org.migrationmesh.agent.runtime.CommandRunner;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.Workloads;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Simulated hosts on one machine: a network namespace per host, all joined by veth pairs to a
 * bridge that lives in a namespace of its own (the root namespace and its firewall stay
 * untouched). Names carry a random suffix so that runs never collide with each other or with
 * leftovers; {@link #close()} deletes every namespace it made and stops every process it
 * started.
 *
 * <p>Hosts may sit in regions far away: a region is a namespace with its own bridge, joined
 * to the core bridge through {@code mmdelay}, a user-space relay that adds the region's
 * one-way latency (the kernel has no netem), with tbf shaping the region's uplink in both
 * directions. Two hosts in regions r1 and r2 see a round trip of 2 × (delay r1 + delay r2).
 * Offloads are off on every veth, so that each frame the relay handles fits the MTU.
 *
 * <p>Addresses are 10.A.B.0/24 inside these namespaces only (one layer-2 segment across all
 * regions, as a stretched LAN), host {@code i} (from 1) is 10.A.B.i, and floating addresses
 * are taken from .200 upwards.
 */
public final class SimulatedNetwork implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final CommandRunner runner;
    private final String prefix;
    private final String subnet;
    private final String bridgeNs;
    private final Map<String, Host> hosts = new LinkedHashMap<>();
    private final Map<String, Region> regions = new LinkedHashMap<>();
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> relays = new ArrayList<>();
    private Path relayBinary;
    private int nextPeer = 1;
    private int nextFloating = 200;
    private int nextSource = 100;

    /**
     * A site: its namespace (holding its bridge), its one-way latency to the core, and its
     * uplink bandwidth (0 = unshaped).
     */
    public record Region(String name, String netns, double delayMs, int rateMbit) {
    }

    /** One simulated host: its namespace, its own address and its interface. */
    public record Host(String name, String netns, String address, String iface) {
        public Path netnsPath() {
            return Path.of("/var/run/netns", netns);
        }
    }

    private SimulatedNetwork(CommandRunner runner, String prefix, String subnet) {
        this.runner = runner;
        this.prefix = prefix;
        this.subnet = subnet;
        this.bridgeNs = prefix + "-br";
    }

    /** Creates the bridge namespace; add hosts with {@link #addHost}. */
    public static SimulatedNetwork create(String tag) throws IOException {
        String suffix = Integer.toString(RANDOM.nextInt(36 * 36 * 36 * 36), 36);
        String prefix = "mm" + tag + "-" + suffix;
        String subnet = "10." + (100 + RANDOM.nextInt(100)) + "." + RANDOM.nextInt(256);
        SimulatedNetwork net = new SimulatedNetwork(new ProcessCommandRunner(), prefix, subnet);
        try {
            net.addNamespace(net.bridgeNs);
            net.ip(net.bridgeNs, "link", "add", "br0", "type", "bridge");
            net.ip(net.bridgeNs, "link", "set", "br0", "up");
            net.ip(net.bridgeNs, "link", "set", "lo", "up");
        } catch (IOException | RuntimeException e) {
            net.close();
            throw e;
        }
        return net;
    }

    /** Adds a host namespace {@code PREFIX-NAME} with eth0 on the core bridge and its own address. */
    public Host addHost(String name) throws IOException {
        return addHost(name, null);
    }

    /**
     * Adds a host namespace {@code PREFIX-NAME} with eth0 on {@code region}'s bridge (the core
     * bridge if null) and its own address.
     */
    public Host addHost(String name, Region region) throws IOException {
        if (hosts.containsKey(name)) throw new IllegalArgumentException("host '" + name + "' exists already");
        int index = hosts.size() + 1;
        String ns = prefix + "-" + name;
        addHostNamespace(ns);
        String bridgeNamespace = region == null ? bridgeNs : region.netns();
        String peer = "p" + nextPeer++;
        ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", peer, "netns", bridgeNamespace);
        ip(bridgeNamespace, "link", "set", peer, "master", "br0");
        ip(bridgeNamespace, "link", "set", peer, "up");
        String address = subnet + "." + index;
        ip(ns, "addr", "add", address + "/24", "dev", "eth0");
        ip(ns, "link", "set", "eth0", "up");
        ip(ns, "link", "set", "lo", "up");
        // As a WAN host should be tuned: a connection that paused (the agents' between pre-copy and
        // the final round, a game's) keeps its congestion window instead of starting slow again.
        sysctl(ns, "net.ipv4.tcp_slow_start_after_idle=0");
        if (!regions.isEmpty()) {
            offloadsOff(ns, "eth0");
            offloadsOff(bridgeNamespace, peer);
        }
        Host h = new Host(name, ns, address, "eth0");
        hosts.put(name, h);
        return h;
    }

    /**
     * Adds a region {@code name} whose hosts are {@code delayMs} (one way) from the core and
     * share an uplink of {@code rateMbit} megabits per second (0 = unshaped).
     */
    public Region addRegion(String name, double delayMs, int rateMbit) throws IOException {
        if (regions.containsKey(name)) throw new IllegalArgumentException("region '" + name + "' exists already");
        if (delayMs < 0) throw new IllegalArgumentException("negative delay for region " + name + ": " + delayMs);
        if (!hosts.isEmpty() && regions.isEmpty()) {
            throw new IllegalStateException("add regions before hosts: offloads must be off on every veth");
        }
        String ns = prefix + "-rg" + (regions.size() + 1);
        addNamespace(ns);
        ip(ns, "link", "add", "br0", "type", "bridge");
        ip(ns, "link", "set", "br0", "up");
        ip(ns, "link", "set", "lo", "up");
        // r0 is on the region's bridge; r1, its other end, and the uplink wan are joined only by the relay.
        ip(ns, "link", "add", "r0", "type", "veth", "peer", "name", "r1");
        ip(ns, "link", "set", "r0", "master", "br0");
        String corePort = "u" + (regions.size() + 1);
        ip(ns, "link", "add", "wan", "type", "veth", "peer", "name", corePort, "netns", bridgeNs);
        ip(bridgeNs, "link", "set", corePort, "master", "br0");
        for (String dev : List.of("r0", "r1", "wan")) {
            ip(ns, "link", "set", "dev", dev, "up");
            offloadsOff(ns, dev);
        }
        ip(bridgeNs, "link", "set", corePort, "up");
        offloadsOff(bridgeNs, corePort);
        if (rateMbit > 0) {
            for (String dev : List.of("wan", "r1")) {
                tc(ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", rateMbit + "mbit",
                        "burst", Math.max(32, rateMbit * 4) + "kb", "latency", "200ms");
            }
        }
        startRelay(ns, "r1", "wan", delayMs);
        Region r = new Region(name, ns, delayMs, rateMbit);
        regions.put(name, r);
        return r;
    }

    public Region region(String name) {
        Region r = regions.get(name);
        if (r == null) throw new IllegalArgumentException("no region '" + name + "' in " + prefix + ", have " + regions.keySet());
        return r;
    }

    public Host host(String name) {
        Host h = hosts.get(name);
        if (h == null) throw new IllegalArgumentException("no host '" + name + "' in " + prefix + ", have " + hosts.keySet());
        return h;
    }

    /** A fresh address in the subnet for a floating IP (not yet on any host). */
    public String newFloatingAddress() {
        if (nextFloating > 254) throw new IllegalStateException("no floating addresses left in " + subnet);
        return subnet + "." + nextFloating++;
    }

    /**
     * A fresh address in the subnet for a client's extra source address (from .100 to .199,
     * below the floating ones); add it to a host with {@link #addAddress}.
     */
    public String newSourceAddress() {
        if (nextSource > 199) throw new IllegalStateException("no source addresses left in " + subnet);
        return subnet + "." + nextSource++;
    }

    public String prefix() {
        return prefix;
    }

    /** Runs {@code argv} inside {@code host}'s namespace to completion. */
    public CommandRunner.Execution exec(Host host, Duration timeout, String... argv) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host.netns()));
        full.addAll(List.of(argv));
        return runner.run(Command.of(timeout, full));
    }

    /** Starts {@code argv} inside {@code host}'s namespace; the caller owns the process. */
    public Process start(Host host, String... argv) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host.netns()));
        full.addAll(List.of(argv));
        return new ProcessBuilder(full).redirectErrorStream(true).start();
    }

    /** Adds {@code address}/24 to the host's eth0 (a floating IP arriving). */
    public void addAddress(Host host, String address) throws IOException {
        ip(host.netns(), "addr", "add", address + "/24", "dev", host.iface());
    }

    /** Removes {@code address}/24 from the host's eth0 if present. */
    public void removeAddress(Host host, String address) throws IOException {
        CommandRunner.Execution ex = runner.run(Command.of(TIMEOUT,
                List.of("ip", "-n", host.netns(), "addr", "del", address + "/24", "dev", host.iface())));
        if (!ex.succeeded() && !ex.stderr().contains("Cannot assign requested address")) {
            throw new IOException("ip -n " + host.netns() + " addr del " + address + ": " + ex.stderr().strip());
        }
    }

    /** Sends gratuitous ARPs for {@code address} from the host, in the background. */
    public Process announce(Host host, String address) throws IOException {
        return start(host, "arping", "-q", "-U", "-c", "3", "-w", "1", "-I", host.iface(), address);
    }

    @Override
    public void close() {
        for (Process p : relays) {
            p.destroy();
            try {
                if (!p.waitFor(2, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        relays.clear();
        // Whatever still runs in a namespace (a daemon of a test, a restored container) dies with it.
        for (String ns : namespaces) killProcessesIn(runner, ns);
        for (int i = namespaces.size() - 1; i >= 0; i--) {
            try {
                runner.run(Command.of(TIMEOUT, List.of("ip", "netns", "del", namespaces.get(i))));
            } catch (IOException ignored) {
                // best effort: the next run uses other names
            }
        }
        namespaces.clear();
        if (relayBinary != null) {
            try {
                java.nio.file.Files.deleteIfExists(relayBinary);
            } catch (IOException ignored) {
                // a stray binary in /tmp is harmless
            }
        }
    }

    /** kill -9 of every process in namespace {@code ns} (best effort: the namespace goes anyway). */
    public static void killProcessesIn(CommandRunner runner, String ns) {
        try {
            CommandRunner.Execution pids = runner.run(Command.of(TIMEOUT, List.of("ip", "netns", "pids", ns)));
            pids.stdout().lines().map(String::strip).filter(s -> s.matches("\\d+"))
                    .forEach(pid -> ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly));
        } catch (IOException ignored) {
            // nothing to kill, or no way to: deleting the namespace is what matters
        }
    }

    private void startRelay(String ns, String a, String b, double delayMs) throws IOException {
        if (relayBinary == null) {
            relayBinary = Workloads.extract("mmdelay", Path.of(System.getProperty("java.io.tmpdir"), prefix + "-mmdelay"));
        }
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, relayBinary.toString(), a, b, Double.toString(delayMs))
                .redirectErrorStream(true).start();
        relays.add(p);
        // It prints "ready" once both packet sockets are open.
        java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8));
        String first = r.readLine();
        if (!"ready".equals(first)) {
            throw new IOException("mmdelay in " + ns + " did not start: " + first);
        }
    }

    private void offloadsOff(String ns, String dev) throws IOException {
        // Every frame must fit the MTU for the relay, and carry a complete checksum.
        List<String> argv = List.of("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "rx", "off",
                "tso", "off", "gso", "off", "gro", "off");
        CommandRunner.Execution ex = runner.run(Command.of(TIMEOUT, argv));
        if (!ex.succeeded()) throw new IOException(String.join(" ", argv) + ": " + ex.stderr().strip()
                + " (is ethtool installed? run scripts/setup-host.sh)");
    }

    private void sysctl(String ns, String setting) throws IOException {
        List<String> argv = List.of("ip", "netns", "exec", ns, "sysctl", "-q", "-w", setting);
        CommandRunner.Execution ex = runner.run(Command.of(TIMEOUT, argv));
        if (!ex.succeeded()) throw new IOException(String.join(" ", argv) + ": " + ex.stderr().strip());
    }

    private void tc(String ns, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("tc", "-n", ns));
        argv.addAll(List.of(args));
        CommandRunner.Execution ex = runner.run(Command.of(TIMEOUT, argv));
        if (!ex.succeeded()) throw new IOException(String.join(" ", argv) + ": " + ex.stderr().strip());
    }

    /**
     * Adds {@code ns} with TCP and UDP hash tables of its own, sized as {@link #HOST_SOCKET_TABLES}
     * says, as a host of its own has. A namespace shares the machine's tables (sized by its RAM:
     * 262144 TCP buckets on a 24 GiB VM) unless the root namespace's {@code *_child_*} sysctls say
     * otherwise when it is made, and CRIU collects a container's sockets through sock_diag, which
     * walks every bucket of them, the container frozen: measured on the tour, CRIU's first steps
     * after the freeze took 5-8 ms with the shared tables, 1.2-2 ms with these. The root's values are
     * put back right after (they count only when a namespace is made); a kernel without them
     * (before 6.1 for TCP, 6.2 for UDP) or a root namespace that cannot be written keeps sharing.
     */
    private void addHostNamespace(String ns) throws IOException {
        synchronized (SimulatedNetwork.class) { // the root's sysctls are the machine's, not this world's
            Map<Path, String> before = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, String> t : HOST_SOCKET_TABLES.entrySet()) {
                    Path sysctl = Path.of("/proc/sys/net/ipv4", t.getKey());
                    String was = readSysctl(sysctl);
                    if (was != null && writeSysctl(sysctl, t.getValue())) before.put(sysctl, was);
                }
                addNamespace(ns);
            } finally {
                before.forEach(SimulatedNetwork::writeSysctl);
            }
        }
    }

    /**
     * The hash tables each host namespace gets (see {@link #addHostNamespace}): room for a few
     * thousand connections, as a host booted with {@code thash_entries=4096 uhash_entries=256}.
     */
    static final Map<String, String> HOST_SOCKET_TABLES = Map.of("tcp_child_ehash_entries", "4096",
            "udp_child_hash_entries", "256");

    private static String readSysctl(Path sysctl) {
        try {
            return Files.readString(sysctl).strip();
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean writeSysctl(Path sysctl, String value) {
        try {
            Files.writeString(sysctl, value);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void addNamespace(String ns) throws IOException {
        CommandRunner.Execution ex = runner.run(Command.of(TIMEOUT, List.of("ip", "netns", "add", ns)));
        if (!ex.succeeded()) throw new IOException("ip netns add " + ns + ": " + ex.stderr().strip());
        namespaces.add(ns);
    }

    private void ip(String ns, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip", "-n", ns));
        argv.addAll(List.of(args));
        CommandRunner.Execution ex = runner.run(Command.of(TIMEOUT, argv));
        if (!ex.succeeded()) throw new IOException(String.join(" ", argv) + ": " + ex.stderr().strip());
    }
}
