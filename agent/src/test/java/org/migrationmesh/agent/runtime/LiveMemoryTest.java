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
}
