package org.migrationmesh.ipfloat;

import java.util.Map;

/**
 * What the cluster says about floating IPs, seen from one agent.
 *
 * @param ownedHere the addresses this agent owns, each with the epoch of that ownership
 * @param managed   every floating address the cluster knows, each with its current epoch
 *                  (includes {@code ownedHere}); an address on the interface that is in
 *                  neither is treated as not floating
 */
public record Ownership(Map<FloatingAddress, Long> ownedHere, Map<FloatingAddress, Long> managed) {
    public Ownership {
        ownedHere = Map.copyOf(ownedHere);
        managed = Map.copyOf(managed);
        for (var e : ownedHere.entrySet()) {
            Long m = managed.get(e.getKey());
            if (m == null || !m.equals(e.getValue())) {
                throw new IllegalArgumentException("owned " + e.getKey() + " at epoch " + e.getValue()
                        + " but managed says " + m);
            }
        }
    }
}
