package org.migrationmesh.ipfloat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Simulated hosts for the integration tests: one network namespace per host, each with an
 * {@code eth0} veth whose peer sits on a bridge in a namespace of its own, so the root
 * namespace is never touched. Names carry a random suffix ({@code mmip-<rand>-a}); closing
 * kills the processes started here and deletes the namespaces, whatever state they are in.
 * Every step fails loudly when root or a tool is missing.
 */
final class TestNetwork implements AutoCloseable {
    private static final Duration STEP = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    final String prefix;
    final String subnet;
    private final String bridge;
    private final Map<String, String> addresses = new LinkedHashMap<>();
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    private TestNetwork() {
        int r = ThreadLocalRandom.current().nextInt(0x10000, 0xfffff);
        prefix = "mmip-" + Integer.toHexString(r);
        subnet = "10.77." + ThreadLocalRandom.current().nextInt(1, 255);
        bridge = prefix + "-br";
    }

    /** Hosts named by letters, given the addresses {@code subnet.1}, {@code .2}, ... in that order. */
    static TestNetwork create(String... hosts) {
        TestNetwork net = new TestNetwork();
        try {
            net.addNamespace(net.bridge);
            net.run("ip", "-n", net.bridge, "link", "add", "br0", "type", "bridge");
            net.run("ip", "-n", net.bridge, "link", "set", "br0", "up");
            int n = 1;
            for (String host : hosts) {
                String ns = net.ns(host);
                net.addNamespace(ns);
                net.run("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "v-" + host,
                        "netns", net.bridge);
                net.run("ip", "-n", net.bridge, "link", "set", "v-" + host, "master", "br0", "up");
                net.run("ip", "-n", ns, "link", "set", "lo", "up");
                net.run("ip", "-n", ns, "link", "set", "eth0", "up");
                String address = net.subnet + "." + n++;
                net.run("ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0");
                net.addresses.put(host, address);
            }
            return net;
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    String ns(String host) {
        return prefix + "-" + host;
    }

    String address(String host) {
        return addresses.get(host);
    }

    /** {@code subnet.last/24}: an address for floating. */
    FloatingAddress floating(int last) {
        return FloatingAddress.parse(subnet + "." + last + "/24");
    }

    String mac(String host) {
        return run("ip", "-n", ns(host), "-j", "link", "show", "eth0").replaceAll("(?s).*\"address\":\"([^\"]+)\".*", "$1");
    }

    /** The link-layer address the host's neighbour table has for {@code ip}, or "" if none. */
    String neighbourMac(String host, String ip) {
        try {
            JsonNode entries = JSON.readTree(run("ip", "-n", ns(host), "-j", "neigh", "show", ip));
            return entries.isEmpty() ? "" : entries.get(0).path("lladdr").asText("");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@code ip} is configured anywhere in the host's namespace. */
    boolean holds(String host, FloatingAddress ip) {
        return IpRoute2.inNamespace(ns(host)).links().stream().flatMap(l -> l.addresses().stream())
                .anyMatch(c -> c.sameAddress(ip));
    }

    /** Cuts the host off the bridge (its peer veth goes down), or reconnects it. */
    void setConnected(String host, boolean connected) {
        run("ip", "-n", bridge, "link", "set", "v-" + host, connected ? "up" : "down");
    }

    /** Runs a command in a host's namespace and returns its output. */
    String exec(String host, String... argv) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns(host)));
        full.addAll(List.of(argv));
        return run(full.toArray(String[]::new));
    }

    /** Starts a long-running process in a host's namespace; it is killed on close. */
    Process spawn(String host, String... argv) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns(host)));
        full.addAll(List.of(argv));
        try {
            Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
            synchronized (processes) {
                processes.add(p);
            }
            return p;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + full, e);
        }
    }

    static String run(String... argv) {
        return CommandRunner.run(List.of(argv), STEP);
    }

    private void addNamespace(String ns) {
        run("ip", "netns", "add", ns);
        namespaces.add(ns);
    }

    @Override
    public void close() {
        synchronized (processes) {
            processes.forEach(Process::destroyForcibly);
            for (Process p : processes) {
                try {
                    p.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        IllegalStateException failed = null;
        for (String ns : namespaces) {
            if (Files.exists(Path.of("/var/run/netns", ns))) {
                try {
                    run("ip", "netns", "del", ns);
                } catch (FloatingIpException e) {
                    failed = failed == null ? new IllegalStateException("cleanup of " + prefix + " failed", e) : failed;
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }
}
