package org.migrationmesh.agent.tour;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Medians and spreads of the benchmark's legs, grouped by leg (from, to, mode) and method, in
 * the order they were first run. Pure.
 */
final class LegStats {
    /** One leg as both methods ran it, repetitions pooled. */
    record Group(String from, Leg leg, Map<String, List<LegResult>> byMethod) {
        String label() {
            return from + " -> " + leg.to() + " (" + leg.mode().word() + ")";
        }
    }

    /** Median, least and greatest of a figure over some results. */
    record Spread(long median, long min, long max) {
        static Spread of(List<LegResult> rs, ToLongFunction<LegResult> f) {
            long[] v = rs.stream().mapToLong(f).sorted().toArray();
            if (v.length == 0) return new Spread(-1, -1, -1);
            long median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
            return new Spread(median, v[0], v[v.length - 1]);
        }

        String text(String unit) {
            return min == max ? median + unit : String.format(Locale.ROOT, "%d%s (%d-%d)", median, unit, min, max);
        }
    }

    private LegStats() {}

    static List<Group> group(List<LegResult> results) {
        Map<String, Group> groups = new LinkedHashMap<>();
        for (LegResult r : results) {
            String key = r.from() + ">" + r.leg();
            Group g = groups.computeIfAbsent(key, k -> new Group(r.from(), r.leg(), new LinkedHashMap<>()));
            g.byMethod().computeIfAbsent(r.method(), m -> new ArrayList<>()).add(r);
        }
        return List.copyOf(groups.values());
    }

    /** The table the benchmark prints and the README shows (markdown). */
    static String table(List<Group> groups, String ours, String baseline) {
        StringBuilder sb = new StringBuilder();
        sb.append("| leg | method | client-seen downtime | freeze | on the wire | total | gap vs baseline |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (Group g : groups) {
            Spread base = Spread.of(g.byMethod().getOrDefault(baseline, List.of()), r -> r.client().longestGapMs());
            for (Map.Entry<String, List<LegResult>> e : g.byMethod().entrySet()) {
                List<LegResult> rs = e.getValue();
                Spread gap = Spread.of(rs, r -> r.client().longestGapMs());
                String ratio = e.getKey().equals(ours) && base.median() > 0
                        ? String.format(Locale.ROOT, "%.2f", (double) gap.median() / base.median()) : "";
                sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |%n", g.label(), e.getKey(),
                        gap.text(" ms"), Spread.of(rs, LegResult::freezeMs).text(" ms"),
                        mib(Spread.of(rs, LegResult::wireBytes)), Spread.of(rs, LegResult::totalMs).text(" ms"), ratio));
            }
        }
        return sb.toString();
    }

    private static String mib(Spread s) {
        double[] v = Arrays.stream(new long[] {s.median(), s.min(), s.max()}).mapToDouble(b -> b / 1048576.0).toArray();
        return s.min() == s.max() ? String.format(Locale.ROOT, "%.2f MiB", v[0])
                : String.format(Locale.ROOT, "%.2f MiB (%.2f-%.2f)", v[0], v[1], v[2]);
    }
}
