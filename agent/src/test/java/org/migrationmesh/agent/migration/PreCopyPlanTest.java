package org.migrationmesh.agent.migration;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PreCopyPlanTest {
    private static final double GBIT = 125_000_000;
    private static final Duration BUDGET = Duration.ofMillis(500);
    private static final Duration OVERHEAD = Duration.ofMillis(200);

    private static PreCopyPlan.Round round(long bytes) {
        return new PreCopyPlan.Round(bytes, Duration.ofMillis(100));
    }

    @Test
    void offNeverCopies() {
        PreCopyPlan p = new PreCopyPlan(PreCopyPlan.Mode.parse("off"), BUDGET, OVERHEAD);
        assertThat(p.first().copyAgain()).isFalse();
    }

    @Test
    void fixedRunsExactlyN() {
        PreCopyPlan p = new PreCopyPlan(PreCopyPlan.Mode.parse("3"), BUDGET, OVERHEAD);
        List<PreCopyPlan.Round> rounds = new ArrayList<>();
        assertThat(p.first().copyAgain()).isTrue();
        rounds.add(round(400 << 20));
        assertThat(p.next(rounds, GBIT).copyAgain()).isTrue();
        rounds.add(round(1));
        assertThat(p.next(rounds, GBIT).copyAgain()).isTrue();
        rounds.add(round(1));
        assertThat(p.next(rounds, GBIT)).extracting(PreCopyPlan.Decision::copyAgain).isEqualTo(false);
    }

    @Test
    void autoFreezesOnceTheFinalTransferFits() {
        PreCopyPlan p = new PreCopyPlan(new PreCopyPlan.Auto(), BUDGET, OVERHEAD);
        List<PreCopyPlan.Round> rounds = new ArrayList<>(List.of(round(400L << 20)));
        assertThat(p.next(rounds, GBIT).copyAgain()).as("a second round measures what changes").isTrue();
        rounds.add(round(6L << 20)); // 6 MiB at 1 Gbit/s = 50 ms < 300 ms
        PreCopyPlan.Decision d = p.next(rounds, GBIT);
        assertThat(d.copyAgain()).isFalse();
        assertThat(d.reason()).contains("fits the budget 300 ms");
    }

    @Test
    void autoProbesOnceAfterTheFirstRoundAndFreezesWhenWhatChangedFits() {
        PreCopyPlan p = new PreCopyPlan(new PreCopyPlan.Auto(), BUDGET, OVERHEAD);
        List<PreCopyPlan.Round> rounds = new ArrayList<>(List.of(round(20L << 20)));
        PreCopyPlan.Decision d = p.next(rounds, GBIT);
        assertThat(p.probesAfter(rounds, d)).isTrue();
        PreCopyPlan.Decision small = p.afterProbe(round(50_000), GBIT);
        assertThat(small.copyAgain()).as("50 KB changed: the final image carries it, no round for it").isFalse();
        assertThat(small.reason()).contains("probe: 50000 B changed").contains("fits the budget 300 ms");
        PreCopyPlan.Decision large = p.afterProbe(round(100L << 20), GBIT); // 100 MiB at 1 Gbit/s: 839 ms
        assertThat(large.copyAgain()).isTrue();
        assertThat(large.reason()).contains("exceeds the budget 300 ms");
        rounds.add(new PreCopyPlan.Round(100L << 20, Duration.ofMillis(50), true));
        assertThat(p.probesAfter(rounds, p.next(rounds, GBIT))).as("only after the first round").isFalse();
        rounds.add(round(90L << 20)); // the round after the probe sent nearly what the probe found: hot memory
        PreCopyPlan.Decision hot = p.next(rounds, GBIT);
        assertThat(hot.copyAgain()).isFalse();
        assertThat(hot.reason()).startsWith("round 2 sent").contains("the probe found changed");
        PreCopyPlan fixed = new PreCopyPlan(PreCopyPlan.Mode.parse("2"), BUDGET, OVERHEAD);
        List<PreCopyPlan.Round> one = List.of(round(20L << 20));
        assertThat(fixed.probesAfter(one, fixed.next(one, GBIT))).as("a fixed number of rounds is run as asked").isFalse();
    }

    @Test
    void autoStopsWhenRoundsDoNotShrink() {
        PreCopyPlan p = new PreCopyPlan(new PreCopyPlan.Auto(), BUDGET, OVERHEAD);
        // A slow link (10 Mbit/s): 50 MiB per round never fits, and it does not shrink.
        List<PreCopyPlan.Round> rounds = List.of(round(400L << 20), round(50L << 20), round(48L << 20));
        PreCopyPlan.Decision d = p.next(rounds, 1_250_000);
        assertThat(d.copyAgain()).isFalse();
        assertThat(d.reason()).contains("memory changes as fast as it is copied");
    }

    @Test
    void badModesAreRefusedWithTheValue() {
        assertThatThrownBy(() -> PreCopyPlan.Mode.parse("lots")).hasMessageContaining("got 'lots'");
        assertThatThrownBy(() -> PreCopyPlan.Mode.parse("99")).hasMessageContaining("0..10, got 99");
    }

    /** Any workload, any link: auto ends within the bound (1000 seeded random cases). */
    @Test
    void autoAlwaysEnds() {
        Random random = new Random(20261125);
        for (int c = 0; c < 1000; c++) {
            long firstBytes = (long) (random.nextDouble() * (1L << 34));
            int percentPerRound = 50 + random.nextInt(101);
            long bytesPerSecond = 1 + (long) (random.nextDouble() * 10_000_000_000L);
            PreCopyPlan p = new PreCopyPlan(new PreCopyPlan.Auto(), BUDGET, OVERHEAD);
            List<PreCopyPlan.Round> rounds = new ArrayList<>(List.of(round(firstBytes)));
            long bytes = firstBytes;
            while (p.next(rounds, bytesPerSecond).copyAgain()) {
                bytes = bytes * percentPerRound / 100;
                rounds.add(round(bytes));
                assertThat(rounds.size()).as("case %d", c).isLessThanOrEqualTo(PreCopyPlan.MAX_ROUNDS);
            }
        }
    }

    @Test
    void theLinkRateLeavesTheRoundTripsOut() {
        long ms = 1_000_000;
        // Singapore -> Strasbourg, seen: round 1 sent 107 KB in one call of ~185 ms, 165 of them the round trip.
        double plain = PreCopyPlan.linkRate(107_000, 185 * ms, 1, 0);
        double apart = PreCopyPlan.linkRate(107_000, 185 * ms, 1, 165 * ms);
        assertThat(apart / plain).isCloseTo(185.0 / 20, org.assertj.core.data.Offset.offset(0.01));
        assertThat(PreCopyPlan.transferTime(55_000, plain).toMillis()).isEqualTo(95);
        assertThat(PreCopyPlan.transferTime(55_000, apart).toMillis()).isEqualTo(10);
        PreCopyPlan tight = new PreCopyPlan(new PreCopyPlan.Auto(), Duration.ofMillis(350), Duration.ofMillis(300));
        assertThat(tight.afterProbe(round(55_000), plain).copyAgain()).as("50 ms budget, round trip counted in").isTrue();
        assertThat(tight.afterProbe(round(55_000), apart).copyAgain()).as("10 ms of bytes fit 50 ms").isFalse();
        // A large round is mostly bytes: its round trips barely move the rate.
        double big = PreCopyPlan.linkRate(400L << 20, 70_000 * ms, 25, 165 * ms);
        assertThat(big / PreCopyPlan.linkRate(400L << 20, 70_000 * ms, 25, 0)).isLessThan(1.07);
        // An overestimated round trip (longer than the calls) makes the link at most ten times faster.
        assertThat(PreCopyPlan.linkRate(1_000_000, 100 * ms, 2, 90 * ms) / PreCopyPlan.linkRate(1_000_000, 100 * ms, 2, 0))
                .isEqualTo(10.0);
        assertThat(PreCopyPlan.linkRate(0, 100 * ms, 1, 0)).isZero();
    }
}
