package org.migrationmesh.agent.sim;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TicksTest {
    @Test
    void oneProcessCountingOnIsContinuous() {
        Ticks t = Ticks.of(List.of("100 tick 7 start 5", "200 tick 8 start 5", "ping", "750 tick 9 start 5", "end ok"));
        assertThat(t.size()).isEqualTo(3);
        assertThat(t.starts()).isEqualTo(1);
        assertThat(t.consecutive()).isTrue();
        assertThat(t.gapsLongestFirst()).containsExactly(550L, 100L);
    }

    @Test
    void aRestartOrALostTickIsSeen() {
        assertThat(Ticks.of(List.of("1 tick 7 start 5", "2 tick 1 start 9")).starts()).isEqualTo(2);
        assertThat(Ticks.of(List.of("1 tick 7 start 5", "2 tick 9 start 5")).consecutive()).isFalse();
    }
}
