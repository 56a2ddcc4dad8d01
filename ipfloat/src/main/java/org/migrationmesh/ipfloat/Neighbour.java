package org.migrationmesh.ipfloat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A neighbour entry of an interface: an address on its link and the link-layer address that
 * answers for it (what ARP or IPv6 neighbour discovery found).
 *
 * <p>A host that takes a floating address over starts with none of the entries of the host
 * that held it: its first reply to each client waits for ARP, a round trip to that client. On a
 * WAN that is as long as the rest of the migration's downtime. The entries the old holder had
 * for the address's subnet, given to the new one beforehand ({@link #missing}), save it.
 */
public record Neighbour(InetAddress address, String lladdr) {
    private static final Pattern LLADDR = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5,19}");
    /**
     * Entries taken over at most: a subnet's clients, not a whole data centre's; and under the
     * kernel's default soft limit of a neighbour table (gc_thresh2 = 512), above which it starts
     * collecting entries (a hard limit of 1024 would refuse them).
     */
    public static final int MOST = 512;

    public Neighbour {
        Objects.requireNonNull(address, "address");
        lladdr = Objects.requireNonNull(lladdr, "lladdr").toLowerCase(Locale.ROOT);
        if (!LLADDR.matcher(lladdr).matches()) {
            throw new IllegalArgumentException("not a link-layer address: " + lladdr + " (for " + address.getHostAddress() + ")");
        }
    }

    /**
     * Of {@code offered} (another host's entries), those a host with entries {@code present}
     * lacks that lie in {@code subnet}'s subnet, other than the floating address itself; at most
     * {@link #MOST}. An address present here, with whatever link-layer address, is left as it is:
     * this host's own knowledge is at least as fresh. Pure.
     */
    public static List<Neighbour> missing(List<Neighbour> offered, List<Neighbour> present, FloatingAddress subnet) {
        Set<InetAddress> known = new HashSet<>();
        for (Neighbour n : present) known.add(n.address());
        List<Neighbour> out = new ArrayList<>();
        for (Neighbour n : offered) {
            if (out.size() == MOST) break;
            if (n.address().equals(subnet.address()) || !subnet.subnetContains(n.address())) continue;
            if (known.add(n.address())) out.add(n);
        }
        return out;
    }

    @Override
    public String toString() {
        return address.getHostAddress() + " at " + lladdr;
    }
}
