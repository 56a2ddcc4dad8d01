package org.migrationmesh.ipfloat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link IpCommands} with iproute2's {@code ip}, {@code sysctl} and iputils' {@code arping},
 * in the host's namespace or, given a name, in {@code /var/run/netns/NAME}
 * ({@code ip -n NAME ...}, {@code ip netns exec NAME ...}).
 */
public final class IpRoute2 implements IpCommands {
    private static final Pattern SENT = Pattern.compile("Sent (\\d+) probe");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.@:-]{1,64}");

    private final String namespace;
    private final Duration timeout;

    /**
     * @param namespace a network namespace name, or null for the host's own
     * @param timeout   deadline of each {@code ip}/{@code sysctl} call
     */
    public IpRoute2(String namespace, Duration timeout) {
        if (namespace != null && !NAME.matcher(namespace).matches()) {
            throw new IllegalArgumentException("bad network namespace name: " + namespace);
        }
        this.namespace = namespace;
        this.timeout = timeout;
    }

    /** In the host's own namespace, 5 s per call. */
    public static IpRoute2 host() {
        return new IpRoute2(null, Duration.ofSeconds(5));
    }

    /** In a named network namespace, 5 s per call. */
    public static IpRoute2 inNamespace(String namespace) {
        return new IpRoute2(namespace, Duration.ofSeconds(5));
    }

    @Override
    public List<Link> links() {
        return IpAddrJson.parse(CommandRunner.run(ip("-j", "addr", "show"), timeout));
    }

    @Override
    public void addAddress(String iface, FloatingAddress address, String label, boolean deprecated) {
        List<String> argv = ip("addr", "add", address.cidr(), "dev", iface);
        if (label != null) {
            argv.addAll(List.of("label", label));
        }
        if (deprecated) {
            argv.addAll(List.of("preferred_lft", "0"));
        }
        CommandRunner.run(argv, timeout);
    }

    @Override
    public void deleteAddress(String iface, FloatingAddress address) {
        CommandRunner.run(ip("addr", "del", address.cidr(), "dev", iface), timeout);
    }

    @Override
    public void prepareIpv6Announcements(String iface) {
        // ndisc_notify: send an unsolicited NA when an address becomes valid; no DAD probes and
        // no random start delay, so it becomes valid (and is announced) at once.
        String conf = "net.ipv6.conf." + iface + ".";
        CommandRunner.run(inNamespace("sysctl", "-q", "-w", conf + "ndisc_notify=1", conf + "dad_transmits=0",
                conf + "router_solicitation_delay=0"), timeout);
    }

    @Override
    public int sendGratuitousArp(String iface, FloatingAddress address, int count) {
        String out = CommandRunner.run(inNamespace("arping", "-U", "-c", Integer.toString(count), "-I", iface,
                address.host()), timeout.plusSeconds(count));
        Matcher m = SENT.matcher(out);
        return m.find() ? Integer.parseInt(m.group(1)) : count;
    }

    @Override
    public List<Neighbour> neighbours(String iface) {
        return IpNeighJson.parse(CommandRunner.run(ip("-j", "neigh", "show", "dev", iface), timeout));
    }

    @Override
    public void addStaleNeighbours(String iface, List<Neighbour> entries) {
        if (entries.isEmpty()) return;
        if (!NAME.matcher(iface).matches()) throw new IllegalArgumentException("bad interface name: " + iface);
        // One `ip` for all of them; "replace", as "add" of an entry that appeared meanwhile would end the batch.
        StringBuilder batch = new StringBuilder();
        for (Neighbour n : entries) {
            batch.append("neigh replace ").append(FloatingAddress.host(n.address())).append(" lladdr ")
                    .append(n.lladdr()).append(" dev ").append(iface).append(" nud stale\n");
        }
        CommandRunner.run(ip("-batch", "-"), batch.toString(), timeout);
    }

    @Override
    public String namespace() {
        return namespace;
    }

    private List<String> ip(String... args) {
        List<String> argv = new ArrayList<>(List.of("ip"));
        if (namespace != null) {
            argv.addAll(List.of("-n", namespace));
        }
        argv.addAll(List.of(args));
        return argv;
    }

    private List<String> inNamespace(String... args) {
        List<String> argv = new ArrayList<>();
        if (namespace != null) {
            argv.addAll(List.of("ip", "netns", "exec", namespace));
        }
        argv.addAll(List.of(args));
        return argv;
    }
}
