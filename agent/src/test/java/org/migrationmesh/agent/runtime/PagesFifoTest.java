package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PagesFifoTest {
    private static final String ROLLUP = """
            55d0c0a00000-7ffc1d5f2000 ---p 00000000 00:00 0                          [rollup]
            Rss:               22528 kB
            Pss:               21000 kB
            Pss_Anon:          20480 kB
            Anonymous:         20480 kB
            LazyFree:              0 kB
            """;

    @Test
    void allocatesTheAnonymousMemoryAnEighthMoreAndAMebibyteInWholePages() {
        long anon = 20480L * 1024;
        assertThat(PagesFifo.allocationFor(ROLLUP)).contains(anon + anon / 8 + (1 << 20));
        assertThat(PagesFifo.allocationFor("Anonymous: 3 kB\n")).as("rounded up to a page").contains(3072L + 384 + (1 << 20) + 640);
    }

    @Test
    void nothingWithoutAnAnonymousLine() {
        assertThat(PagesFifo.allocationFor("Rss: 100 kB\n")).isEmpty();
        assertThat(PagesFifo.allocationFor("Anonymous: lots kB\n")).isEmpty();
        assertThat(PagesFifo.allocationFor("")).isEmpty();
    }
}
