package org.migrationmesh.ipfloat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link IpCommands} with iproute2's {@code ip}, {@code sysctl} and iputils' {@code arping},
 * in the host's namespace or, given a name, in {@code /var/run/netns/NAME}
 * ({@code ip -n NAME ...}, {@code ip netns exec NAME ...}). The {@code ip} commands go to one
 * long-lived {@code ip -batch} ({@link IpBatch}); {@link #close()} ends it.
 */
public final class IpRoute2 implements IpCommands, AutoCloseable {
    private static final Pattern SENT = Pattern.compile("Sent (\\d+) probe");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.@:-]{1,64}");

    private final String namespace;
    private final Duration timeout;
    private final IpBatch batch;

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
        this.batch = new IpBatch(namespace, timeout);
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
        return IpAddrJson.parse(json("addr", "show"));
    }

    @Override
    public void addAddress(String iface, FloatingAddress address, String label, boolean deprecated) {
        List<String> args = new ArrayList<>(List.of("addr", "add", address.cidr(), "dev", name(iface)));
        if (label != null) {
            args.addAll(List.of("label", name(label)));
        }
        if (deprecated) {
            args.addAll(List.of("preferred_lft", "0"));
        }
        change(args);
    }

    @Override
    public void deleteAddress(String iface, FloatingAddress address) {
        change(List.of("addr", "del", address.cidr(), "dev", name(iface)));
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
        return IpNeighJson.parse(json("neigh", "show", "dev", name(iface)));
    }

    @Override
    public void addStaleNeighbours(String iface, List<Neighbour> entries) {
        // "replace", as "add" fails for an entry that appeared meanwhile
        for (Neighbour n : entries) {
            change(List.of("neigh", "replace", FloatingAddress.host(n.address()), "lladdr", name(n.lladdr()), "dev",
                    name(iface), "nud", "stale"));
        }
    }

    @Override
    public String namespace() {
        return namespace;
    }

    /** Ends the {@code ip -batch} process (a later command starts another). */
    @Override
    public void close() {
        batch.close();
    }

    private String json(String... args) {
        List<String> standalone = new ArrayList<>(List.of("-j"));
        standalone.addAll(List.of(args));
        return batch.run(String.join(" ", args), true, ip(standalone));
    }

    private void change(List<String> args) {
        batch.run(String.join(" ", args), false, ip(args));
    }

    /** A name or address that goes into a batch line as one word. */
    private static String name(String word) {
        if (!NAME.matcher(word).matches()) throw new IllegalArgumentException("bad interface name or address: " + word);
        return word;
    }

    /** The same command as its own {@code ip} call (for error messages). */
    private List<String> ip(List<String> args) {
        List<String> argv = new ArrayList<>(List.of("ip"));
        if (namespace != null) {
            argv.addAll(List.of("-n", namespace));
        }
        argv.addAll(args);
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
