package org.migrationmesh.ipfloat;

/**
 * Root of the floating-IP errors. Every subclass carries the data a caller needs to act on
 * it (the address, the interface, the epochs, the failed command), not just a message.
 */
public class FloatingIpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FloatingIpException(String message) {
        super(message);
    }

    public FloatingIpException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The text is not an IP address with an optional prefix length. */
    public static final class BadAddress extends FloatingIpException {
        private static final long serialVersionUID = 1L;
        private final String text;

        public BadAddress(String text, String why) {
            super("bad floating address '" + text + "': " + why);
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    /** The configured interface does not exist in the (namespace of the) host. */
    public static final class NoSuchInterface extends FloatingIpException {
        private static final long serialVersionUID = 1L;
        private final String iface;
        private final String namespace;

        public NoSuchInterface(String iface, String namespace) {
            super("interface " + iface + " does not exist"
                    + (namespace == null ? " on the host" : " in network namespace " + namespace));
            this.iface = iface;
            this.namespace = namespace;
        }

        public String iface() {
            return iface;
        }

        /** The network namespace, or null for the host's own. */
        public String namespace() {
            return namespace;
        }
    }

    /** The address is one the host itself uses; a floating claim must never take it over. */
    public static final class HostAddress extends FloatingIpException {
        private static final long serialVersionUID = 1L;
        private final FloatingAddress address;
        private final String configuredOn;

        public HostAddress(FloatingAddress address, String configuredOn) {
            super("refusing to claim " + address + ": it is a host address configured on " + configuredOn
                    + ", not a floating one");
            this.address = address;
            this.configuredOn = configuredOn;
        }

        public FloatingAddress address() {
            return address;
        }

        public String configuredOn() {
            return configuredOn;
        }
    }

    /** The address does not fit the interface: other family, or outside its subnets. */
    public static final class AddressMismatch extends FloatingIpException {
        private static final long serialVersionUID = 1L;
        private final FloatingAddress address;
        private final String iface;

        public AddressMismatch(FloatingAddress address, String iface, String why) {
            super("floating address " + address + " does not fit interface " + iface + ": " + why);
            this.address = address;
            this.iface = iface;
        }

        public FloatingAddress address() {
            return address;
        }

        public String iface() {
            return iface;
        }
    }

    /** A claim or release carried an epoch lower than the highest already seen for the address. */
    public static final class StaleEpoch extends FloatingIpException {
        private static final long serialVersionUID = 1L;
        private final FloatingAddress address;
        private final long expectedAtLeast;
        private final long actual;

        public StaleEpoch(FloatingAddress address, long expectedAtLeast, long actual) {
            super("stale epoch for " + address + ": got " + actual + ", highest seen " + expectedAtLeast);
            this.address = address;
            this.expectedAtLeast = expectedAtLeast;
            this.actual = actual;
        }

        public FloatingAddress address() {
            return address;
        }

        /** The highest epoch seen for the address: a valid request carries at least this. */
        public long expectedAtLeast() {
            return expectedAtLeast;
        }

        public long actual() {
            return actual;
        }
    }

    /** A claim was asked while this agent has no lease (no recent majority contact). */
    public static final class NoLease extends FloatingIpException {
        private static final long serialVersionUID = 1L;
        private final FloatingAddress address;

        public NoLease(FloatingAddress address, String leaseState) {
            super("refusing to claim " + address + " without a lease: " + leaseState);
            this.address = address;
        }

        public FloatingAddress address() {
            return address;
        }
    }

    /** An {@code ip}/{@code arping} command failed or timed out. */
    public static final class CommandFailed extends FloatingIpException {
        private static final long serialVersionUID = 1L;
        private final java.util.List<String> argv;
        private final int exitCode;
        private final String stderrTail;

        public CommandFailed(java.util.List<String> argv, int exitCode, String stderrTail, Throwable cause) {
            super(String.join(" ", argv) + (exitCode < 0 ? " did not finish" : " exited " + exitCode)
                    + (stderrTail.isBlank() ? "" : ": " + stderrTail.strip()), cause);
            this.argv = java.util.List.copyOf(argv);
            this.exitCode = exitCode;
            this.stderrTail = stderrTail;
        }

        public java.util.List<String> argv() {
            return argv;
        }

        /** The exit code, or -1 when the command timed out or could not start. */
        public int exitCode() {
            return exitCode;
        }

        public String stderrTail() {
            return stderrTail;
        }
    }
}
