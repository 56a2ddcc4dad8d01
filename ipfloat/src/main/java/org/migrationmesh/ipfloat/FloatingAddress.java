package org.migrationmesh.ipfloat;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * A floating IP address with the prefix length it is configured with ({@code 10.0.0.9/24}).
 * Equality is by address only: one address is one floating IP, whatever its prefix.
 */
public record FloatingAddress(InetAddress address, int prefixLength) {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]*:[0-9a-fA-F:.]*");

    public FloatingAddress {
        if (address == null) {
            throw new FloatingIpException.BadAddress("null", "no address");
        }
        int max = maxPrefix(address);
        if (prefixLength < 0 || prefixLength > max) {
            throw new FloatingIpException.BadAddress(address.getHostAddress() + "/" + prefixLength,
                    "prefix length must be 0.." + max);
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress() || address.isLoopbackAddress()) {
            throw new FloatingIpException.BadAddress(address.getHostAddress(),
                    "a wildcard, multicast or loopback address cannot float");
        }
    }

    /**
     * Parses {@code ADDR} or {@code ADDR/PREFIX}; without a prefix the address is a host route
     * (/32 or /128). Only literal addresses are accepted: no name is ever resolved.
     */
    public static FloatingAddress parse(String text) {
        if (text == null || text.isBlank()) {
            throw new FloatingIpException.BadAddress(String.valueOf(text), "empty");
        }
        String s = text.strip();
        int slash = s.indexOf('/');
        String host = slash < 0 ? s : s.substring(0, slash);
        if (!IPV4.matcher(host).matches() && !IPV6.matcher(host).matches()) {
            throw new FloatingIpException.BadAddress(text, "not an IPv4 or IPv6 literal");
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new FloatingIpException.BadAddress(text, "not an IP literal (" + e.getMessage() + ")");
        }
        if (address instanceof Inet4Address && host.contains(":")) {
            throw new FloatingIpException.BadAddress(text, "IPv4-mapped IPv6 addresses are not supported");
        }
        int prefix = maxPrefix(address);
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new FloatingIpException.BadAddress(text, "prefix length is not a number");
            }
        }
        return new FloatingAddress(address, prefix);
    }

    public boolean isIpv4() {
        return address instanceof Inet4Address;
    }

    /** The literal address without prefix, as {@code ip} and {@code arping} take it. */
    public String host() {
        return host(address);
    }

    /** {@code address} as {@code ip} and {@code arping} take it: the literal without a scope suffix. */
    static String host(InetAddress address) {
        return address.getHostAddress().replaceFirst("%.*$", "");
    }

    /** {@code ADDR/PREFIX}, as {@code ip addr add} takes it. */
    public String cidr() {
        return host() + "/" + prefixLength;
    }

    /** Whether {@code other} lies in this address's subnet (same family, same leading prefix bits). */
    public boolean subnetContains(InetAddress other) {
        return sameSubnet(address, other, prefixLength);
    }

    /** Whether two addresses share their first {@code prefixLength} bits (false across families). */
    static boolean sameSubnet(InetAddress one, InetAddress other, int prefixLength) {
        byte[] a = one.getAddress();
        byte[] b = other.getAddress();
        if (a.length != b.length) {
            return false;
        }
        for (int bit = 0; bit < prefixLength; bit++) {
            int mask = 0x80 >>> (bit % 8);
            if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    private static int maxPrefix(InetAddress address) {
        return address instanceof Inet6Address ? 128 : 32;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatingAddress f && f.address.equals(address);
    }

    @Override
    public int hashCode() {
        return address.hashCode();
    }

    @Override
    public String toString() {
        return cidr();
    }
}
