package org.migrationmesh.agent.tour;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LegStatsTest {
    private static LegResult result(String method, int rep, String to, String mode, long gapMs) {
        ClientView client = new ClientView(100, 100, 0, gapMs, true, 1, 2);
        return new LegResult(method, rep, "stuttgart", Leg.parse(to + ":" + mode), gapMs - 50, 200, 1 << 20, 3000, client,
                0.1, 10.0, -1, -1);
    }

    @Test
    void legsParseWithTheirModes() {
        assertThat(Leg.parse("montreal")).isEqualTo(new Leg("montreal", Leg.Mode.PRE));
        assertThat(Leg.parse("singapore:pre+post").mode().migrateArgs).containsExactly("--pre-copy", "auto", "--post-copy");
        assertThat(Leg.SEED_TOUR).extracting(Leg::to).containsExactly("strasbourg", "montreal", "singapore", "strasbourg");
        assertThatThrownBy(() -> Leg.parse("montreal:fast")).hasMessageContaining("unknown mode 'fast'");
        assertThatThrownBy(() -> Leg.parse(":pre")).hasMessageContaining("names no site");
    }

    @Test
    void mediansAndSpreadsPerLegAndMethodWithTheRatioToTheBaseline() {
        List<LegResult> rs = List.of(
                result("ours", 1, "montreal", "pre", 400), result("seed", 1, "montreal", "pre", 2000),
                result("ours", 2, "montreal", "pre", 600), result("seed", 2, "montreal", "pre", 1000),
                result("ours", 3, "montreal", "pre", 500), result("seed", 3, "montreal", "pre", 3000));
        List<LegStats.Group> groups = LegStats.group(rs);
        assertThat(groups).hasSize(1);
        LegStats.Spread ours = LegStats.Spread.of(groups.get(0).byMethod().get("ours"), r -> r.client().longestGapMs());
        assertThat(ours).isEqualTo(new LegStats.Spread(500, 400, 600));
        String table = LegStats.table(groups, "ours", "seed");
        assertThat(table).contains("| stuttgart -> montreal (pre) | ours | 500 ms (400-600) |")
                .contains("| 0.25 |").contains("| seed | 2000 ms (1000-3000) |");
        assertThat(LegStats.Spread.of(List.of(result("x", 1, "a", "pre", 10), result("x", 2, "a", "pre", 30)),
                r -> r.client().longestGapMs()).median()).isEqualTo(20);
    }

    @Test
    void theChartHasABarPerLegAndMethod() {
        List<LegResult> rs = List.of(result("ours", 1, "montreal", "pre", 400), result("seed", 1, "montreal", "pre", 2000),
                result("ours", 1, "singapore", "pre", 700), result("seed", 1, "singapore", "pre", 3000));
        String svg = GapChart.svg(LegStats.group(rs), List.of("ours", "seed"), "a <title>");
        assertThat(svg).startsWith("<svg").endsWith("</svg>\n").contains("a &lt;title&gt;")
                .contains("stuttgart -&gt; singapore (pre)");
        assertThat(svg.split("<rect x=", -1).length - 1).isEqualTo(4 + 2); // bars, then the legend's two swatches
    }
}
