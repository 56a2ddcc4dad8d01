package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class PageIndexTest {
    @Test
    void answersLikeAMapThroughGrowth() {
        Random r = new Random(7);
        PageIndex index = new PageIndex(4); // grows many times
        Map<Long, Integer> expected = new HashMap<>();
        long[] pool = new long[5000];
        for (int i = 0; i < pool.length; i++) pool[i] = i % 3 == 0 ? i : r.nextLong(); // small and spread digests
        for (int page = 0; page < 40_000; page++) {
            long d = pool[r.nextInt(pool.length)];
            Integer before = expected.putIfAbsent(d, page);
            assertThat(index.putIfAbsent(d, page)).as("page %d", page).isEqualTo(before == null ? -1 : before);
        }
    }
}
