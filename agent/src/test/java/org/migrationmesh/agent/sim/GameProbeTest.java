package org.migrationmesh.agent.sim;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class GameProbeTest {
    /** mmprobe q3 output around a migration (as printed against ioq3ded), with a probe error line. */
    private static final List<String> SAMPLE = List.of(
            "0 134 status oa_dm1 3 7 2026-11-25_12:18:23 noname",
            "21 114 rcon oa_dm1 3 7 2026-11-25_12:18:23 noname",
            "41 292 rcon oa_dm1 3 8 2026-11-25_12:18:23 noname",
            "bind 10.1.2.3: Cannot assign requested address (is it an address of this host?)",
            "402 180 rcon oa_dm1 3 8 2026-11-25_12:18:23 noname",
            "501 131 status oa_dm1 3 9 2026-11-25_12:18:23 My_Server",
            "summary sent 30 received 5 max_gap_ms 361 lost 25 rtt_ms_p50 0.134 rtt_ms_p99 0.292 rtt_ms_max 0.292 level_starts 1");

    @Test
    void parsesRepliesAndTheSummary() {
        GameProbe p = GameProbe.of(SAMPLE);
        assertThat(p.replies()).hasSize(5);
        assertThat(p.replies().get(0)).isEqualTo(new GameProbe.Reply(0, 134, "status", "oa_dm1", 3, 7,
                "2026-11-25_12:18:23", "noname"));
        assertThat(p.replies().get(2).isStatus()).isFalse();
        assertThat(p.statusReplies()).extracting(GameProbe.Reply::hostname).containsExactly("noname", "My_Server");
        assertThat(p.summary()).hasValue(new GameProbe.Summary(30, 5, 361, 25, 0.134, 0.292, 0.292, 1));
        assertThat(p.other()).singleElement().asString().startsWith("bind 10.1.2.3");
    }

    @Test
    void theLongestGapAndTheRepliesAroundIt() {
        GameProbe p = GameProbe.of(SAMPLE);
        assertThat(p.longestGap()).hasValue(new GameProbe.Gap(41, 402));
        assertThat(p.longestGap().orElseThrow().millis()).isEqualTo(361);
        assertThat(p.lastAtOrBefore(41)).hasValueSatisfying(r -> assertThat(r.scoreSum()).isEqualTo(8));
        assertThat(p.firstAfter(41)).hasValueSatisfying(r -> assertThat(r.atMillis()).isEqualTo(402));
        assertThat(p.firstAfter(501)).isEmpty();
    }

    @Test
    void aRestartedLevelShowsASecondLevelStart() {
        GameProbe p = GameProbe.of(List.of(
                "0 100 status oa_dm1 3 12 2026-11-25_12:18:23 noname",
                "20 100 rcon oa_dm1 3 12 - -",
                "900 100 status oa_dm1 0 0 2026-11-25_12:19:40 noname",
                "1000 100 status oa_dm1 1 0 2026-11-25_12:19:40 noname"));
        assertThat(p.levelStarts()).containsExactly("2026-11-25_12:18:23", "2026-11-25_12:19:40");
        assertThat(p.summary()).as("killed before its summary").isEmpty();
        assertThat(p.other()).isEmpty();
    }

    @Test
    void noRepliesNoGap() {
        GameProbe p = GameProbe.of(List.of("summary sent 10 received 0 max_gap_ms 1000 lost 10 rtt_ms_p50 0.000 "
                + "rtt_ms_p99 0.000 rtt_ms_max 0.000 level_starts 0"));
        assertThat(p.replies()).isEmpty();
        assertThat(p.longestGap()).isEmpty();
        assertThat(p.summary().orElseThrow().lost()).isEqualTo(10);
    }

    @Test
    void argumentsForAFastProbeNameThePasswordAndTheSources() {
        assertThat(GameProbe.args("10.1.2.200", 27960, 20, 30, "pw", "10.1.2.100", 50))
                .containsExactly("q3", "10.1.2.200", "27960", "20", "30", "rcon=pw", "from=10.1.2.100,50");
        assertThat(GameProbe.args("10.1.2.200", 27960, 1000, 5, null, null, 0))
                .containsExactly("q3", "10.1.2.200", "27960", "1000", "5");
    }
}
