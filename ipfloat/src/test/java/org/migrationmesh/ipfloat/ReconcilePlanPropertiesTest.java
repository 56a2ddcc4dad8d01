package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Whatever the cluster says and whatever is held, carrying out the plan gives exactly what is
 * owned, claiming only what is missing and releasing only what is not owned. Checked on
 * many random cases from a fixed seed (the seed and case are in the failure message).
 */
class ReconcilePlanPropertiesTest {

    @Test
    void applyingThePlanReachesTheOwnedSet() {
        long seed = 20261125L;
        Random random = new Random(seed);
        for (int round = 0; round < 500; round++) {
            Map<FloatingAddress, Long> managed = new HashMap<>();
            Map<FloatingAddress, Long> owned = new HashMap<>();
            Set<FloatingAddress> held = new HashSet<>();
            for (int i = 1; i <= 20; i++) {
                long epoch = random.nextInt(100);
                int pick = random.nextInt(4);
                if (pick >= 1) {
                    managed.put(address(i), epoch);
                }
                if (pick == 3) {
                    owned.put(address(i), epoch);
                }
                if (random.nextBoolean()) {
                    held.add(address(i));
                }
            }
            String context = "seed " + seed + " round " + round + ": owned " + owned.keySet() + " managed "
                    + managed.keySet() + " held " + held;
            check(new Ownership(owned, managed), held, context);
        }
    }

    private static void check(Ownership ownership, Set<FloatingAddress> held, String context) {
        List<ReconcilePlanner.Action> plan = ReconcilePlanner.plan(ownership, held);
        Set<FloatingAddress> after = new HashSet<>(held);
        for (ReconcilePlanner.Action a : plan) {
            if (a instanceof ReconcilePlanner.Claim c) {
                assertThat(after.add(c.address())).as("claims only what is not held; " + context).isTrue();
                assertThat(c.epoch()).as(context).isEqualTo(ownership.ownedHere().get(c.address()));
            } else {
                ReconcilePlanner.Release r = (ReconcilePlanner.Release) a;
                assertThat(after.remove(r.address())).as("releases only what is held; " + context).isTrue();
                assertThat(ownership.ownedHere()).as(context).doesNotContainKey(r.address());
                assertThat(r.epoch().isPresent()).as(context).isEqualTo(ownership.managed().containsKey(r.address()));
            }
        }
        assertThat(after).as(context).isEqualTo(ownership.ownedHere().keySet());
    }

    private static FloatingAddress address(int i) {
        return FloatingAddress.parse("10.0.0." + i + "/24");
    }
}
