package org.migrationmesh.ipfloat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Interfaces and addresses held in memory, for the logic tests (the integration tests use
 * {@link IpRoute2} on real namespaces). Records every command it was given.
 */
final class InMemoryIpCommands implements IpCommands {
    final Map<String, List<Link.Configured>> links = new LinkedHashMap<>();
    final List<String> trace = new CopyOnWriteArrayList<>();
    final Map<String, List<Neighbour>> neighbours = new LinkedHashMap<>();

    InMemoryIpCommands withLink(String name, String... cidrs) {
        List<Link.Configured> addresses = new ArrayList<>();
        for (String cidr : cidrs) {
            String[] parts = cidr.split("/");
            InetAddress a;
            try {
                a = InetAddress.getByName(parts[0]);
            } catch (java.net.UnknownHostException e) {
                throw new IllegalArgumentException(cidr, e);
            }
            boolean ipv4 = a instanceof java.net.Inet4Address;
            addresses.add(new Link.Configured(a, Integer.parseInt(parts[1]), ipv4 ? name : "",
                    a.isLoopbackAddress() ? "host" : "global", false));
        }
        links.put(name, addresses);
        return this;
    }

    @Override
    public synchronized List<Link> links() {
        List<Link> out = new ArrayList<>();
        links.forEach((name, addresses) -> out.add(new Link(name, "02:00:00:00:00:01", true, addresses)));
        return out;
    }

    @Override
    public synchronized void addAddress(String iface, FloatingAddress address, String label, boolean deprecated) {
        List<Link.Configured> addresses = links.get(iface);
        for (Link.Configured c : addresses) {
            if (c.sameAddress(address)) {
                throw new FloatingIpException.CommandFailed(List.of("ip", "addr", "add"), 2, "File exists", null);
            }
        }
        addresses.add(new Link.Configured(address.address(), address.prefixLength(), label == null ? "" : label,
                "global", deprecated));
        trace.add("add " + address + " " + iface + (label == null ? "" : " label " + label)
                + (deprecated ? " deprecated" : ""));
    }

    @Override
    public synchronized void deleteAddress(String iface, FloatingAddress address) {
        boolean removed = links.get(iface).removeIf(c -> c.sameAddress(address));
        if (!removed) {
            throw new FloatingIpException.CommandFailed(List.of("ip", "addr", "del"), 2, "Cannot assign", null);
        }
        trace.add("del " + address + " " + iface);
    }

    @Override
    public void prepareIpv6Announcements(String iface) {
        trace.add("prepare-ipv6 " + iface);
    }

    @Override
    public int sendGratuitousArp(String iface, FloatingAddress address, int count) {
        trace.add("arping " + address.host() + " " + iface + " x" + count);
        return count;
    }

    @Override
    public synchronized List<Neighbour> neighbours(String iface) {
        return List.copyOf(neighbours.getOrDefault(iface, List.of()));
    }

    @Override
    public synchronized void addStaleNeighbours(String iface, List<Neighbour> entries) {
        List<Neighbour> here = neighbours.computeIfAbsent(iface, k -> new ArrayList<>());
        for (Neighbour n : entries) {
            here.removeIf(h -> h.address().equals(n.address()));
            here.add(n);
        }
        trace.add("neigh " + iface + " " + entries);
    }

    @Override
    public String namespace() {
        return "test-ns";
    }

    boolean has(String iface, String host) throws Exception {
        InetAddress a = InetAddress.getByName(host);
        return links.get(iface).stream().anyMatch(c -> c.address().equals(a));
    }
}
