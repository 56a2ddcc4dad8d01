package org.migrationmesh.agent.sim;

import org.migrationmesh.agent.runtime.Command;
import org.migrationmesh.agent.runtime.CommandRunner;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;

import java.io.IOException;
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
 * leftovers; {@link #close()} deletes every namespace it made.
 *
 * <p>Addresses are 10.A.B.0/24 inside these namespaces only, host {@code i} (from 1) is
 * 10.A.B.i, and floating addresses are taken from .200 upwards.
 */
public final class SimulatedNetwork implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final CommandRunner runner;
    private final String prefix;
    private final String subnet;
    private final String bridgeNs;
    private final Map<String, Host> hosts = new LinkedHashMap<>();
    private final List<String> namespaces = new ArrayList<>();
    private int nextFloating = 200;

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

    /** Adds a host namespace {@code PREFIX-NAME} with eth0 on the bridge and its own address. */
    public Host addHost(String name) throws IOException {
        if (hosts.containsKey(name)) throw new IllegalArgumentException("host '" + name + "' exists already");
        int index = hosts.size() + 1;
        String ns = prefix + "-" + name;
        addNamespace(ns);
        String peer = "p" + index;
        ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", peer, "netns", bridgeNs);
        ip(bridgeNs, "link", "set", peer, "master", "br0");
        ip(bridgeNs, "link", "set", peer, "up");
        String address = subnet + "." + index;
        ip(ns, "addr", "add", address + "/24", "dev", "eth0");
        ip(ns, "link", "set", "eth0", "up");
        ip(ns, "link", "set", "lo", "up");
        Host h = new Host(name, ns, address, "eth0");
        hosts.put(name, h);
        return h;
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
        for (int i = namespaces.size() - 1; i >= 0; i--) {
            try {
                runner.run(Command.of(TIMEOUT, List.of("ip", "netns", "del", namespaces.get(i))));
            } catch (IOException ignored) {
                // best effort: the next run uses other names
            }
        }
        namespaces.clear();
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
