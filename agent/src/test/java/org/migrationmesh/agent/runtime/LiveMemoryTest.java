package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LiveMemoryTest {
    @Test
    void parsesMapsLines() {
        List<LiveMemory.Region> r = LiveMemory.parseMaps("""
                00400000-00401000 r--p 00000000 fd:01 1234                     /bin/memhog
                7f0000000000-7f0000021000 rw-p 00000000 00:00 0
                7ffd1000-7ffd3000 r--p 00000000 00:00 0                          [vvar]
                ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          [vsyscall]
                7f1000000000-7f1000001000 rw-s 00000000 00:05 77                 /dev/shm/x (deleted)
                """);
        assertThat(r).hasSize(5);
        assertThat(r.get(0).path()).isEqualTo("/bin/memhog");
        assertThat(r.get(1).pages()).isEqualTo(0x21);
        assertThat(r.get(1).path()).isEmpty();
        assertThat(r.get(2).special()).isTrue();
        assertThat(r.get(3).start()).as("unsigned").isEqualTo(0xffffffffff600000L);
        assertThat(r.get(3).readable()).isFalse();
        assertThat(r.get(4).shared()).isTrue();
        assertThat(r.get(4).path()).isEqualTo("/dev/shm/x (deleted)");
    }

    @Test
    void onlyPrivatePresentOrSwappedPagesAreRead() {
        assertThat(LiveMemory.worthReading(1L << 63)).isTrue();
        assertThat(LiveMemory.worthReading(1L << 62)).isTrue();
        assertThat(LiveMemory.worthReading((1L << 63) | (1L << 61))).as("file-backed page: CRIU does not dump it").isFalse();
        assertThat(LiveMemory.worthReading(0)).as("never touched").isFalse();
    }

    @Test
    void onlyPresentPagesMappedElsewhereTooAreLookedUpAsZeroPages() {
        long present = 1L << 63, exclusive = 1L << 56, pfn = 15158;
        assertThat(LiveMemory.mayBeZeroPage(present | pfn)).as("read, never written: may be the zero page").isTrue();
        assertThat(LiveMemory.mayBeZeroPage(present | exclusive | pfn)).as("mapped here alone: a page of its own").isFalse();
        assertThat(LiveMemory.mayBeZeroPage((1L << 62) | 77)).as("swapped: the low bits are no page frame").isFalse();
        assertThat(LiveMemory.mayBeZeroPage(present)).as("page frame hidden (not root)").isFalse();
        assertThat(LiveMemory.zeroPage(0x101000004L)).as("kpageflags of the zero page, seen here").isTrue();
        assertThat(LiveMemory.zeroPage(0x40200582cL)).as("kpageflags of an anonymous page, seen here").isFalse();
    }

    @Test
    void theInjectionPageIsTheFirstExecutableMappingsStart() {
        List<LiveMemory.Region> r = LiveMemory.parseMaps("""
                00400000-00401000 r--p 00000000 fd:01 1234                     /bin/memhog
                00401000-0047a000 r-xp 00001000 fd:01 1234                     /bin/memhog
                7ffd3000-7ffd5000 r-xp 00000000 00:00 0                          [vdso]
                ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          [vsyscall]
                """);
        assertThat(LiveMemory.injectionPage(r)).isEqualTo(0x401000L);
        assertThat(LiveMemory.injectionPage(r.subList(2, 4))).as("the vDSO, when nothing else is executable").isEqualTo(0x7ffd3000L);
        assertThat(LiveMemory.injectionPage(r.subList(3, 4))).as("the vsyscall page lies above the task size").isEqualTo(-1L);
    }

    @Test
    void theVdsoIsReadTheVvarIsNot() {
        List<LiveMemory.Region> r = LiveMemory.parseMaps("""
                7ffd1000-7ffd3000 r--p 00000000 00:00 0                          [vvar]
                7ffd3000-7ffd5000 r-xp 00000000 00:00 0                          [vdso]
                """);
        assertThat(r.get(0).special()).isTrue();
        assertThat(r.get(1).special()).isFalse();
        assertThat(r.get(1).vdso()).isTrue();
    }
}
