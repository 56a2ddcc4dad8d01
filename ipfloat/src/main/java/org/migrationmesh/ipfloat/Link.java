package org.migrationmesh.ipfloat;

import java.net.InetAddress;
import java.util.List;

/**
 * One network interface as {@code ip -j addr show} describes it.
 *
 * @param name      interface name ({@code eth0})
 * @param mac       link-layer address, lower case, or "" when the link has none
 * @param up        whether the interface is administratively up
 * @param addresses the addresses configured on it
 */
public record Link(String name, String mac, boolean up, List<Configured> addresses) {
    public Link {
        addresses = List.copyOf(addresses);
    }

    /**
     * An address configured on an interface.
     *
     * @param address      the address
     * @param prefixLength its prefix length
     * @param label        the IPv4 label ({@code eth0:fl}); "" for IPv6 or none
     * @param scope        {@code global}, {@code link}, {@code host}
     * @param deprecated   preferred lifetime 0 with an infinite valid lifetime: never chosen as
     *                     a source address, which is how floating IPv6 addresses are marked
     */
    public record Configured(InetAddress address, int prefixLength, String label, String scope,
                             boolean deprecated) {
        public boolean sameAddress(FloatingAddress floating) {
            return floating.address().equals(address);
        }
    }
}
