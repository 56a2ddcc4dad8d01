package org.migrationmesh.agent.host;

import org.migrationmesh.cluster.ClusterState;
import org.migrationmesh.ipfloat.FloatingAddress;
import org.migrationmesh.ipfloat.Ownership;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.FloatingIp;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.Map;

/**
 * The floating IPs the cluster gives this agent, as the ipfloat module wants them. Addresses of
 * containers in a migration are left out of both sets: the migration claims and releases them
 * itself, fenced by its epoch, and reconciliation must not undo that halfway.
 */
final class ClusterOwnership {
    private ClusterOwnership() {}

    static Ownership of(ClusterState s, String self, int prefixLength) {
        Map<FloatingAddress, Long> mine = new HashMap<>();
        Map<FloatingAddress, Long> managed = new HashMap<>();
        Set<FloatingAddress> migrating = new HashSet<>();
        for (FloatingIp ip : s.ips().values()) {
            Container c = ip.getContainerId().isEmpty() ? null : s.container(ip.getContainerId()).orElse(null);
            FloatingAddress a = FloatingAddress.parse(ip.getAddress() + "/" + prefixLength);
            if (c != null && !c.getMigrationId().isEmpty()) {
                migrating.add(a);
                continue;
            }
            managed.put(a, ip.getEpoch());
            if (ip.getOwner().equals(self)) mine.put(a, ip.getEpoch());
        }
        return new Ownership(mine, managed, migrating);
    }
}
