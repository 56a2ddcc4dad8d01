package org.migrationmesh.ipfloat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads the output of {@code ip -j neigh show dev IFACE} into {@link Neighbour}s: the entries
 * that name a link-layer address and are not known to be wrong (FAILED, INCOMPLETE and NOARP
 * entries are left out). Pure.
 */
final class IpNeighJson {
    private static final Set<String> UNUSABLE = Set.of("FAILED", "INCOMPLETE", "NOARP", "NONE");

    private IpNeighJson() {
    }

    static List<Neighbour> parse(String json) {
        JsonNode root = IpAddrJson.read(json, "ip -j neigh show");
        List<Neighbour> out = new ArrayList<>();
        for (JsonNode entry : root) {
            String dst = entry.path("dst").asText("");
            String lladdr = entry.path("lladdr").asText("");
            if (dst.isEmpty() || lladdr.isEmpty()) continue;
            boolean usable = true;
            for (JsonNode state : entry.path("state")) usable &= !UNUSABLE.contains(state.asText());
            if (!usable) continue;
            try {
                out.add(new Neighbour(IpAddrJson.literal(dst), lladdr));
            } catch (IllegalArgumentException e) {
                // a link-layer address of another kind of link (not Ethernet-like): not one to take over
            }
        }
        return out;
    }
}
