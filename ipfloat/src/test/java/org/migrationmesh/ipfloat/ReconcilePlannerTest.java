package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReconcilePlannerTest {
    private final FloatingAddress a = FloatingAddress.parse("10.0.0.1/24");
    private final FloatingAddress b = FloatingAddress.parse("10.0.0.2/24");
    private final FloatingAddress c = FloatingAddress.parse("10.0.0.3/24");
    private final FloatingAddress d = FloatingAddress.parse("fd00::4/64");

    @Test
    void nothingToDoWhenHeldMatchesOwned() {
        Ownership o = new Ownership(Map.of(a, 1L), Map.of(a, 1L, b, 2L));
        assertThat(ReconcilePlanner.plan(o, Set.of(a))).isEmpty();
    }

    @Test
    void claimsMissingAndReleasesForeignReleasesFirst() {
        Ownership o = new Ownership(Map.of(a, 4L, d, 6L), Map.of(a, 4L, b, 5L, d, 6L));
        assertThat(ReconcilePlanner.plan(o, Set.of(b, c))).containsExactly(
                new ReconcilePlanner.Release(b, OptionalLong.of(5)),
                new ReconcilePlanner.Release(c, OptionalLong.empty()),
                new ReconcilePlanner.Claim(a, 4),
                new ReconcilePlanner.Claim(d, 6));
    }

    @Test
    void releasesEverythingWhenNothingIsOwned() {
        Ownership o = new Ownership(Map.of(), Map.of(a, 1L));
        assertThat(ReconcilePlanner.plan(o, Set.of(a)))
                .containsExactly(new ReconcilePlanner.Release(a, OptionalLong.of(1)));
    }

    @Test
    void leavesAddressesOfAMigrationInProgressAlone() {
        // c was claimed quietly by a migration's destination; b is a stray address to release.
        Ownership o = new Ownership(Map.of(), Map.of(), Set.of(c));
        assertThat(ReconcilePlanner.plan(o, Set.of(b, c)))
                .containsExactly(new ReconcilePlanner.Release(b, OptionalLong.empty()));
        assertThat(ReconcilePlanner.plan(o, Set.of())).isEmpty();
    }
}
