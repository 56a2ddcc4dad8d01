package org.migrationmesh.ipfloat;

import java.util.List;

/**
 * The effects a floating IP needs from the host's network stack, all in one network
 * namespace (the host's own, or a named one). Implementations run with a deadline on every
 * call and throw {@link FloatingIpException.CommandFailed} carrying argv, exit code and stderr.
 */
public interface IpCommands {

    /** Every interface of the namespace with its addresses. */
    List<Link> links();

    /**
     * Adds an address to an interface. {@code label} is an IPv4 label (it must start with the
     * interface name) or null; {@code deprecated} gives it preferred lifetime 0 (never a source
     * address). Throws if the address is already there.
     */
    void addAddress(String iface, FloatingAddress address, String label, boolean deprecated);

    /** Removes an address from an interface. Throws if it is not there. */
    void deleteAddress(String iface, FloatingAddress address);

    /**
     * Makes the kernel announce IPv6 addresses as soon as they are added on {@code iface}
     * (unsolicited neighbour advertisement, no DAD delay). Idempotent.
     */
    void prepareIpv6Announcements(String iface);

    /**
     * Sends {@code count} gratuitous ARP packets for an IPv4 address, one per second, and
     * returns how many were sent. Blocks until done; interrupting it stops the sending.
     */
    int sendGratuitousArp(String iface, FloatingAddress address, int count);

    /** The usable neighbour entries of {@code iface} (see {@link Neighbour}). */
    List<Neighbour> neighbours(String iface);

    /**
     * Sets neighbour entries on {@code iface} as STALE: the kernel sends to them at once and
     * confirms each (a unicast probe) on first use, replacing what it finds wrong.
     */
    void addStaleNeighbours(String iface, List<Neighbour> entries);

    /** The network namespace the commands act in, or null for the host's own. */
    String namespace();
}
