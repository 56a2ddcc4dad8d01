package org.migrationmesh.ipfloat;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The highest cluster epoch seen for each floating address. A claim or release carrying a
 * lower epoch comes from an outdated decision and is refused; an equal epoch is a retry and
 * is admitted. Pure and thread-safe.
 */
public final class EpochFence {
    private final Map<FloatingAddress, Long> highest = new HashMap<>();

    /** Throws {@link FloatingIpException.StaleEpoch} if {@code epoch} is below the highest seen. */
    public synchronized void check(FloatingAddress address, long epoch) {
        Long seen = highest.get(address);
        if (seen != null && epoch < seen) {
            throw new FloatingIpException.StaleEpoch(address, seen, epoch);
        }
    }

    /** Checks, then records {@code epoch} as the highest seen for the address. */
    public synchronized void admit(FloatingAddress address, long epoch) {
        check(address, epoch);
        highest.merge(address, epoch, Math::max);
    }

    /** The highest epoch seen for the address, if any. */
    public synchronized OptionalLong highest(FloatingAddress address) {
        Long seen = highest.get(address);
        return seen == null ? OptionalLong.empty() : OptionalLong.of(seen);
    }
}
