package org.migrationmesh.agent.migration;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class HotPagesTest {
    @Test
    void pagesRewrittenBetweenTwoLooksAreHotAndPagesThatCameOrWentAreNot() {
        Map<String, Map<Long, Integer>> first = Map.of("1", Map.of(0x1000L, 1, 0x2000L, 2, 0x3000L, 3), "2", Map.of(0x1000L, 9));
        Map<String, Map<Long, Integer>> second = Map.of("1", Map.of(0x1000L, 1, 0x2000L, 5, 0x4000L, 4),
                "2", Map.of(0x1000L, 8), "3", Map.of(0x1000L, 7));
        assertThat(HotPages.changedInEach(List.of(first, second), 10)).isEqualTo(Map.of("1", java.util.Set.of(0x2000L), "2", java.util.Set.of(0x1000L)));
    }

    @Test
    void aMemoryRewrittenAtRandomHasNoHotPages() {
        Map<Long, Integer> before = new HashMap<>(), after = new HashMap<>();
        for (long p = 0; p < 1000; p++) {
            before.put(p * 4096, 0);
            after.put(p * 4096, p < 300 ? 1 : 0);
        }
        assertThat(HotPages.changedInEach(List.of(Map.of("1", before), Map.of("1", after)), HotPages.MAX_PAGES)).isEmpty();
        assertThat(HotPages.changedInEach(List.of(Map.of("1", before), Map.of("1", after)), 300).get("1")).hasSize(300);
    }

    @Test
    void aPageThatChangedOnceAmongThreeLooksIsNotHot() {
        Map<String, Map<Long, Integer>> a = Map.of("1", Map.of(0x1000L, 1, 0x2000L, 1, 0x3000L, 1));
        Map<String, Map<Long, Integer>> b = Map.of("1", Map.of(0x1000L, 2, 0x2000L, 2, 0x3000L, 1));
        Map<String, Map<Long, Integer>> c = Map.of("1", Map.of(0x1000L, 3, 0x2000L, 2, 0x3000L, 4));
        assertThat(HotPages.changedInEach(List.of(a, b, c), 10)).isEqualTo(Map.of("1", java.util.Set.of(0x1000L)));
        assertThat(HotPages.changedInEach(List.of(a, b, c), 0)).isEmpty();
        assertThat(HotPages.changedInEach(List.of(a), 10)).isEmpty();
    }
}
