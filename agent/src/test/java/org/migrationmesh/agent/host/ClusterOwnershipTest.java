package org.migrationmesh.agent.host;

import org.junit.jupiter.api.Test;
import org.migrationmesh.cluster.ClusterState;
import org.migrationmesh.ipfloat.FloatingAddress;
import org.migrationmesh.ipfloat.Ownership;
import org.migrationmesh.ipfloat.ReconcilePlanner;
import org.migrationmesh.proto.cluster.ClusterSnapshot;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.FloatingIp;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ClusterOwnershipTest {
    private static final FloatingAddress IP = FloatingAddress.parse("10.1.0.200/24");

    private static ClusterState state(String owner, String migrationId) {
        return ClusterState.fromSnapshot(ClusterSnapshot.newBuilder()
                .addContainers(Container.newBuilder().setId("tick1").setOwner(owner).setFloatingIp("10.1.0.200")
                        .setMigrationId(migrationId))
                .addIps(FloatingIp.newBuilder().setAddress("10.1.0.200").setOwner(owner).setContainerId("tick1").setEpoch(4))
                .build());
    }

    @Test
    void anAddressOwnedHereIsClaimedOneOwnedElsewhereReleased() {
        assertThat(ReconcilePlanner.plan(ClusterOwnership.of(state("a1", ""), "a1", 24), Set.of()))
                .containsExactly(new ReconcilePlanner.Claim(IP, 4));
        assertThat(ReconcilePlanner.plan(ClusterOwnership.of(state("a1", ""), "a2", 24), Set.of(IP)))
                .hasSize(1).first().isInstanceOf(ReconcilePlanner.Release.class);
    }

    /** The source holding it before FREEZE, or during an abort, and the destination after its quiet claim. */
    @Test
    void aMigratingAddressStaysWhereItIs() {
        ClusterState migrating = state("a1", "m1");
        for (String agent : new String[] {"a1", "a2"}) {
            Ownership o = ClusterOwnership.of(migrating, agent, 24);
            assertThat(ReconcilePlanner.plan(o, Set.of(IP))).as("held on " + agent + ": not released").isEmpty();
            assertThat(ReconcilePlanner.plan(o, Set.of())).as("not held on " + agent + ": not claimed").isEmpty();
        }
    }
}
