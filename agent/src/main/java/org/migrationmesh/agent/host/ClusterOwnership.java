package org.migrationmesh.agent.host;

import org.migrationmesh.cluster.ClusterState;
import org.migrationmesh.ipfloat.FloatingAddress;
import org.migrationmesh.ipfloat.Ownership;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.FloatingIp;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The floating IPs the cluster gives this agent, as the ipfloat module wants them. Addresses of
 * containers in a migration stay as they are on this host: the migration claims and releases
 * them itself, fenced by its epoch, and reconciliation must not undo that halfway. Held, such an
 * address counts as this agent's (so it is not released); not held, it is left out (so it is
 * not claimed).
 */
final class ClusterOwnership {
    private ClusterOwnership() {}

    /** Pure. {@code held}: the floating addresses on this host's interface now. */
    static Ownership of(ClusterState s, String self, int prefixLength, Set<FloatingAddress> held) {
        Map<FloatingAddress, Long> mine = new HashMap<>();
        Map<FloatingAddress, Long> managed = new HashMap<>();
        for (FloatingIp ip : s.ips().values()) {
            Container c = ip.getContainerId().isEmpty() ? null : s.container(ip.getContainerId()).orElse(null);
            FloatingAddress a = FloatingAddress.parse(ip.getAddress() + "/" + prefixLength);
            if (c != null && !c.getMigrationId().isEmpty()) {
                if (held.contains(a)) {
                    mine.put(a, ip.getEpoch());
                    managed.put(a, ip.getEpoch());
                }
                continue;
            }
            managed.put(a, ip.getEpoch());
            if (ip.getOwner().equals(self)) mine.put(a, ip.getEpoch());
        }
        return new Ownership(mine, managed);
    }
}
