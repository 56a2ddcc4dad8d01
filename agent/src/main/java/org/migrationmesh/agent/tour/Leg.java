package org.migrationmesh.agent.tour;

import java.util.ArrayList;
import java.util.List;

/**
 * One step of the tour: to which site, and how (stop-and-copy, pre-copy, post-copy, or pre-copy
 * then post-copy). Written {@code SITE[:MODE]} with MODE one of stop, pre, post, pre+post.
 */
public record Leg(String to, Mode mode) {
    public enum Mode {
        STOP("stop", "stop-and-copy", List.of("--pre-copy", "off")),
        PRE("pre", "pre-copy", List.of("--pre-copy", "auto")),
        POST("post", "post-copy", List.of("--pre-copy", "off", "--post-copy")),
        PRE_POST("pre+post", "pre-copy + post-copy", List.of("--pre-copy", "auto", "--post-copy"));

        final String word;
        final String description;
        final List<String> migrateArgs;

        Mode(String word, String description, List<String> migrateArgs) {
            this.word = word;
            this.description = description;
            this.migrateArgs = migrateArgs;
        }

        public String word() {
            return word;
        }

        public String description() {
            return description;
        }

        static Mode parse(String s) {
            for (Mode m : values()) if (m.word.equals(s)) return m;
            throw new IllegalArgumentException("unknown mode '" + s + "': use stop, pre, post or pre+post");
        }
    }

    /** The seed's journey after the local site: pre-copy first, the last legs with pre+post-copy. */
    public static final List<Leg> SEED_TOUR = parseAll(List.of("strasbourg:pre", "montreal:pre", "singapore:pre+post",
            "strasbourg:pre+post"));

    public static Leg parse(String spec) {
        int colon = spec.indexOf(':');
        String site = colon < 0 ? spec : spec.substring(0, colon);
        Mode mode = colon < 0 ? Mode.PRE : Mode.parse(spec.substring(colon + 1));
        if (site.isBlank()) throw new IllegalArgumentException("leg '" + spec + "' names no site");
        return new Leg(site, mode);
    }

    public static List<Leg> parseAll(List<String> specs) {
        List<Leg> out = new ArrayList<>();
        for (String s : specs) out.add(parse(s));
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return to + ":" + mode.word;
    }
}
