package org.migrationmesh.ipfloat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Compares the floating addresses the cluster says this agent owns with those actually held
 * and says what to do. Pure: no I/O, no clock.
 */
public final class ReconcilePlanner {

    /** One step towards the desired state. */
    public sealed interface Action permits Claim, Release {
        FloatingAddress address();
    }

    /** Add an owned address that is not held. */
    public record Claim(FloatingAddress address, long epoch) implements Action {
    }

    /**
     * Remove a held address this agent does not own. {@code epoch} is the cluster's current
     * epoch for it, or empty when the cluster no longer knows the address at all.
     */
    public record Release(FloatingAddress address, OptionalLong epoch) implements Action {
    }

    private ReconcilePlanner() {
    }

    /**
     * Releases first (they free addresses), then claims; each group in address order.
     *
     * @param ownership what the cluster says
     * @param held      the floating addresses currently on this agent's interface
     */
    public static List<Action> plan(Ownership ownership, Set<FloatingAddress> held) {
        Comparator<Action> byAddress = Comparator.comparing(a -> a.address().cidr());
        List<Action> releases = new ArrayList<>();
        for (FloatingAddress a : held) {
            if (!ownership.ownedHere().containsKey(a) && !ownership.inMigration().contains(a)) {
                Long epoch = ownership.managed().get(a);
                releases.add(new Release(a, epoch == null ? OptionalLong.empty() : OptionalLong.of(epoch)));
            }
        }
        List<Action> claims = new ArrayList<>();
        ownership.ownedHere().forEach((a, epoch) -> {
            if (!held.contains(a)) {
                claims.add(new Claim(a, epoch));
            }
        });
        releases.sort(byAddress);
        claims.sort(byAddress);
        List<Action> plan = new ArrayList<>(releases);
        plan.addAll(claims);
        return plan;
    }
}
