package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PageRunsTest {
    @Test
    void addressesBecomeRunsAndBackInTheirOrder() {
        long[] vaddrs = {0x1000, 0x2000, 0x3000, 0x7f0000000000L, 0x7f0000001000L, 0x5000, 0x6000, 0x9000};
        PageRuns.Runs runs = PageRuns.of(vaddrs, 0, vaddrs.length);
        assertThat(runs.starts()).containsExactly(0x1000, 0x7f0000000000L, 0x5000, 0x9000);
        assertThat(runs.pages()).containsExactly(3, 2, 2, 1);
        assertThat(PageRuns.expand(box(runs.starts()), box(runs.pages()), 100)).containsExactly(vaddrs);
        PageRuns.Runs part = PageRuns.of(vaddrs, 2, 5);
        assertThat(part.starts()).containsExactly(0x3000, 0x7f0000000000L);
        assertThat(PageRuns.of(vaddrs, 3, 3).count()).isZero();
    }

    @Test
    void rangesThatContinueARunExtendItAndManyRunsFit() {
        PageRuns.Runs runs = new PageRuns.Builder().add(0x1000, 2).add(0x3000, 3).add(0x9000, 1).build();
        assertThat(runs.starts()).containsExactly(0x1000, 0x9000);
        assertThat(runs.pages()).containsExactly(5, 1);
        assertThat(runs.startList()).containsExactly(0x1000L, 0x9000L);
        assertThat(runs.pageList()).containsExactly(5, 1);
        long[] apart = new long[40];
        for (int i = 0; i < apart.length; i++) apart[i] = (long) i * 2 * 4096;
        assertThat(PageRuns.of(apart, 0, apart.length).count()).isEqualTo(40);
    }

    @Test
    void badRunsAreRefusedBeforeAnythingIsAllocated() {
        assertThatThrownBy(() -> PageRuns.expand(List.of(0x1001L), List.of(1), 10)).hasMessageContaining("not a page");
        assertThatThrownBy(() -> PageRuns.expand(List.of(0x1000L), List.of(0), 10)).hasMessageContaining("run 0 of 0 pages");
        assertThatThrownBy(() -> PageRuns.expand(List.of(0x1000L), List.of(-1), 10)).hasMessageContaining("4294967295");
        assertThatThrownBy(() -> PageRuns.expand(List.of(0x1000L, 0x9000L), List.of(6, 6), 10)).hasMessageContaining("more than 10");
        assertThatThrownBy(() -> PageRuns.expand(List.of(-4096L), List.of(2), 10)).hasMessageContaining("past the end");
        assertThatThrownBy(() -> PageRuns.expand(List.of(0x1000L), List.of(1, 2), 10)).hasMessageContaining("1 run starts for 2");
    }

    private static List<Long> box(long[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }

    private static List<Integer> box(int[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }
}
