package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Whatever the cluster says and whatever is held, carrying out the plan gives exactly what is owned. */
class ReconcilePlanPropertiesTest {

    @Property
    void applyingThePlanReachesTheOwnedSet(@ForAll @Size(max = 12) List<@IntRange(min = 1, max = 20) Integer> owned,
                                           @ForAll @Size(max = 12) List<@IntRange(min = 1, max = 20) Integer> managed,
                                           @ForAll @Size(max = 12) List<@IntRange(min = 1, max = 30) Integer> held) {
        Map<FloatingAddress, Long> managedMap = new HashMap<>();
        managed.forEach(i -> managedMap.put(address(i), (long) i * 7));
        Map<FloatingAddress, Long> ownedMap = new HashMap<>();
        owned.forEach(i -> {
            managedMap.put(address(i), (long) i * 7);
            ownedMap.put(address(i), (long) i * 7);
        });
        Set<FloatingAddress> heldSet = new HashSet<>();
        held.forEach(i -> heldSet.add(address(i)));

        List<ReconcilePlanner.Action> plan = ReconcilePlanner.plan(new Ownership(ownedMap, managedMap), heldSet);

        Set<FloatingAddress> after = new HashSet<>(heldSet);
        for (ReconcilePlanner.Action a : plan) {
            if (a instanceof ReconcilePlanner.Claim c) {
                assertThat(after.add(c.address())).as("claims only what is not held").isTrue();
                assertThat(c.epoch()).isEqualTo(ownedMap.get(c.address()));
            } else {
                ReconcilePlanner.Release r = (ReconcilePlanner.Release) a;
                assertThat(after.remove(r.address())).as("releases only what is held").isTrue();
                assertThat(ownedMap).doesNotContainKey(r.address());
                assertThat(r.epoch().isPresent()).isEqualTo(managedMap.containsKey(r.address()));
            }
        }
        assertThat(after).isEqualTo(ownedMap.keySet());
    }

    private static FloatingAddress address(int i) {
        return FloatingAddress.parse("10.0.0." + i + "/24");
    }
}
