package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.util.BitSet;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class DeltaPlannerTest {
    @Test
    void onlyPagesNotHeldWithTheSameContentAtTheSameAddressAreNeeded() {
        long[] vaddrs = {0x1000, 0x2000, 0x3000, 0x4000};
        long[] digests = {11, 22, 33, 44};
        Map<PageKey, Long> held = Map.of(new PageKey("1", 0x1000), 11L, new PageKey("1", 0x2000), 99L,
                new PageKey("2", 0x3000), 33L);
        BitSet need = DeltaPlanner.needed("1", vaddrs, digests, (k, d) -> Long.valueOf(d).equals(held.get(k)));
        // same content same address: skipped; changed content: needed; same content other process: needed; unknown: needed
        assertThat(need.stream().toArray()).containsExactly(1, 2, 3);
    }

    @Test
    void heldPagesAreNotSentAndCanBeDuplicated() {
        byte[] buf = new byte[3 * 4096];
        new Random(3).nextBytes(buf);
        System.arraycopy(buf, 0, buf, 2 * 4096, 4096);
        long[] digests = {PageHash.of(buf, 0), PageHash.of(buf, 4096), PageHash.of(buf, 8192)};
        BitSet need = new BitSet();
        need.set(1, 3);
        DeltaPlanner.PlannedChunk pc = new DeltaPlanner.PagesFilePlan(need).plan(3, 0, digests);
        assertThat(pc.ops()).containsExactly(PageOps.HELD, PageOps.DATA, PageOps.DUP);
        assertThat(pc.dupOf()).containsExactly(0);
        assertThat(pc.dataPages()).containsExactly(1);
        assertThat(pc.heldPages()).isEqualTo(1);
    }
}
