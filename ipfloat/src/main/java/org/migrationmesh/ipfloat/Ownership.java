package org.migrationmesh.ipfloat;

import java.util.Map;
import java.util.Set;

/**
 * What the cluster says about floating IPs, seen from one agent.
 *
 * @param ownedHere the addresses this agent owns, each with the epoch of that ownership
 * @param managed   every floating address the cluster knows, each with its current epoch
 *                  (includes {@code ownedHere}); an address on the interface that is in
 *                  neither is treated as not floating
 * @param inMigration addresses whose claim and release belong to a migration in progress (it
 *                  claims them quietly on its destination, fenced by its own epoch):
 *                  reconciliation leaves them as they are, held or not
 */
public record Ownership(Map<FloatingAddress, Long> ownedHere, Map<FloatingAddress, Long> managed,
                        Set<FloatingAddress> inMigration) {
    public Ownership(Map<FloatingAddress, Long> ownedHere, Map<FloatingAddress, Long> managed) {
        this(ownedHere, managed, Set.of());
    }

    public Ownership {
        ownedHere = Map.copyOf(ownedHere);
        managed = Map.copyOf(managed);
        inMigration = Set.copyOf(inMigration);
        for (var e : ownedHere.entrySet()) {
            Long m = managed.get(e.getKey());
            if (m == null || !m.equals(e.getValue())) {
                throw new IllegalArgumentException("owned " + e.getKey() + " at epoch " + e.getValue()
                        + " but managed says " + m);
            }
        }
    }
}
