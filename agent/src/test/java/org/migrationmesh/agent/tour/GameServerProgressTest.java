package org.migrationmesh.agent.tour;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;

class GameServerProgressTest {
    /** A game log showing these level seconds, one per look, then the last one for ever. */
    private static LongSupplier showing(Long... seconds) {
        Deque<Long> left = new ArrayDeque<>(List.of(seconds));
        return () -> left.size() > 1 ? left.poll() : left.peek();
    }

    @Test
    void waitsForTheGameLogsNextTimedLine() throws Exception {
        // Two looks with nothing new (no kill, no item taken yet), then the level time moved on.
        assertThat(GameServer.progressPast(showing(36L, 36L, 38L), 36, Duration.ofSeconds(5))).isEqualTo(38);
    }

    @Test
    void aServerThatStoppedStaysWhereItWas() throws Exception {
        assertThat(GameServer.progressPast(showing(36L), 36, Duration.ofMillis(300))).isEqualTo(36);
    }

    @Test
    void aServerWithoutProgressIsNotWaitedFor() throws Exception {
        long t0 = System.nanoTime();
        assertThat(GameServer.progressPast(showing(-1L), -1, Duration.ofSeconds(5))).isEqualTo(-1);
        assertThat(System.nanoTime() - t0).isLessThan(Duration.ofSeconds(1).toNanos());
    }
}
