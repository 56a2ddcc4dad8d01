package org.migrationmesh.agent.migration;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The pages a running container rewrites all the time (a game server's ~130 pages of entities
 * and network buffers, every frame): sent by the first pre-copy round, they change again before
 * the freeze and the final image sends them a second time (~40 KB each migration of OpenArena).
 * Looks at the memory some frames apart tell them: pages whose content differs between each
 * look and the next ({@value #LOOKS} looks: a page that changed once in a while, between two of
 * them only, is better sent ahead, or its bytes move into the downtime). The rounds then leave
 * them for the final image. Pure.
 *
 * <p>Only a small set is left out ({@link #MAX_PAGES}): a memory rewritten at random (the 400 MB
 * workload's 1 000 pages a second) shows many pages changed between two looks that will not
 * change again, and leaving those out would move their bytes into the downtime.
 */
final class HotPages {
    /** At most this many pages (1 MiB) are left for the final image; more changed pages: none is. */
    static final int MAX_PAGES = 256;
    /** No looks at a memory of more pages (256 MiB): three reads of it cost more than the few pages they save. */
    static final int MAX_LOOK_PAGES = 65536;
    /** Looks taken: a hot page changed between every two in a row. */
    static final int LOOKS = 3;

    private HotPages() {}

    /**
     * The pages, by space, whose CRC differs between every two {@code looks} in a row (see
     * {@link #between}), or none when more than {@code max} did.
     */
    static Map<String, Set<Long>> changedInEach(java.util.List<Map<String, Map<Long, Integer>>> looks, int max) {
        if (looks.size() < 2) return Map.of();
        Map<String, Set<Long>> hot = between(looks.get(0), looks.get(1));
        for (int k = 2; k < looks.size(); k++) {
            Map<String, Set<Long>> next = between(looks.get(k - 1), looks.get(k));
            hot.forEach((space, pages) -> pages.retainAll(next.getOrDefault(space, Set.of())));
        }
        int n = hot.values().stream().mapToInt(Set::size).sum();
        return n > max ? Map.of() : hot;
    }

    /**
     * The pages, by space, whose CRC differs between the {@code first} and {@code second} look (a
     * page only in one look is not counted: it came or went).
     */
    static Map<String, Set<Long>> between(Map<String, Map<Long, Integer>> first, Map<String, Map<Long, Integer>> second) {
        Map<String, Set<Long>> hot = new HashMap<>();
        for (var space : second.entrySet()) {
            Map<Long, Integer> before = first.get(space.getKey());
            if (before == null) continue;
            for (var page : space.getValue().entrySet()) {
                Integer crc = before.get(page.getKey());
                if (crc == null || crc.equals(page.getValue())) continue;
                hot.computeIfAbsent(space.getKey(), k -> new HashSet<>()).add(page.getKey());
            }
        }
        return hot;
    }
}
