package org.migrationmesh.agent.tour;

import java.util.List;
import java.util.Locale;

/**
 * An SVG bar chart of the client-seen downtime per leg: one bar per method (median), a
 * whisker from the least to the greatest repetition. Pure: returns the SVG text.
 */
final class GapChart {
    private static final String[] COLOURS = {"#2b6cb0", "#c05621", "#2f855a", "#6b46c1"};
    private static final int BAR = 26, GAP = 22, LEFT = 70, TOP = 40, HEIGHT = 300;

    private GapChart() {}

    static String svg(List<LegStats.Group> groups, List<String> methods, String title) {
        long top = 1;
        for (LegStats.Group g : groups) {
            for (List<LegResult> rs : g.byMethod().values()) {
                top = Math.max(top, LegStats.Spread.of(rs, r -> r.client().longestGapMs()).max());
            }
        }
        top = niceCeiling(top);
        int groupWidth = methods.size() * BAR + GAP;
        int width = LEFT + groups.size() * groupWidth + 20;
        int height = TOP + HEIGHT + 110;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"11\">%n", width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"13\">%s</text>%n", LEFT, escape(title)));
        for (int i = 0; i <= 4; i++) {
            long v = top * i / 4;
            double y = TOP + HEIGHT - (double) HEIGHT * i / 4;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d ms</text>%n", LEFT, width - 10, y, y, LEFT - 6, y + 4, v));
        }
        for (int gi = 0; gi < groups.size(); gi++) {
            LegStats.Group g = groups.get(gi);
            int x0 = LEFT + gi * groupWidth + GAP / 2;
            for (int mi = 0; mi < methods.size(); mi++) {
                List<LegResult> rs = g.byMethod().get(methods.get(mi));
                if (rs == null) continue;
                LegStats.Spread sp = LegStats.Spread.of(rs, r -> r.client().longestGapMs());
                double h = (double) HEIGHT * sp.median() / top;
                int x = x0 + mi * BAR;
                s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"/>%n",
                        x, TOP + HEIGHT - h, BAR - 4, h, COLOURS[mi % COLOURS.length]));
                double yMin = TOP + HEIGHT - (double) HEIGHT * sp.min() / top, yMax = TOP + HEIGHT - (double) HEIGHT * sp.max() / top;
                int cx = x + (BAR - 4) / 2;
                s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>%n",
                        cx, cx, yMin, yMax));
            }
            int cx = x0 + methods.size() * BAR / 2;
            s.append(String.format(Locale.ROOT, "<text transform=\"translate(%d,%d) rotate(35)\">%s</text>%n", cx - 10,
                    TOP + HEIGHT + 14, escape(g.label())));
        }
        for (int mi = 0; mi < methods.size(); mi++) {
            int y = TOP + 4 + mi * 16;
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", width - 260, y, COLOURS[mi % COLOURS.length], width - 243, y + 10,
                    escape(methods.get(mi))));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\">client-seen downtime"
                + " (longest gap, median; whisker: min-max)</text>%n", TOP + HEIGHT, TOP + HEIGHT));
        return s.append("</svg>\n").toString();
    }

    private static long niceCeiling(long v) {
        long step = 1;
        while (step * 10 < v) step *= 10;
        for (long m : new long[] {1, 2, 5, 10}) if (step * m >= v) return step * m;
        return step * 10;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
