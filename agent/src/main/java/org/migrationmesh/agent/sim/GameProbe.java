package org.migrationmesh.agent.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code mmprobe q3} saw of a Quake III / OpenArena server: one {@link Reply} per answered
 * query and the closing {@link Summary} (the format is documented in mmprobe.c). The same
 * level start time in every status reply means the level went on (restored, not restarted);
 * the longest gap between replies is the client's view of downtime. Pure.
 *
 * @param replies the reply lines, in order
 * @param summary the summary line, if the probe got to print it
 * @param other   lines that are neither (e.g. an error message of the probe)
 */
public record GameProbe(List<Reply> replies, Optional<Summary> summary, List<String> other) {
    private static final Pattern REPLY = Pattern.compile(
            "^(\\d+) (\\d+) (status|rcon) (\\S+) (-?\\d+) (-?\\d+) (\\S+) (\\S+)$");
    private static final Pattern SUMMARY = Pattern.compile("^summary sent (\\d+) received (\\d+) max_gap_ms (\\d+) "
            + "lost (-?\\d+) rtt_ms_p50 ([\\d.]+) rtt_ms_p99 ([\\d.]+) rtt_ms_max ([\\d.]+) level_starts (\\d+)$");

    /** Marks a value the probe did not know (yet). */
    public static final String UNKNOWN = "-";

    /**
     * One reply.
     *
     * @param atMillis   when it arrived, ms since the probe started
     * @param rttMicros  from its request to it
     * @param kind       "status" (getstatus) or "rcon" (rcon status; carries no cvars of its own)
     * @param map        the map being played
     * @param players    players on the server, bots included
     * @param scoreSum   their scores added up
     * @param levelStart the server's g_timestamp: when the current level was loaded ('_' for ' ')
     * @param hostname   sv_hostname
     */
    public record Reply(long atMillis, long rttMicros, String kind, String map, int players, long scoreSum,
                        String levelStart, String hostname) {
        public boolean isStatus() {
            return kind.equals("status");
        }
    }

    /** The probe's closing line: counts, the longest gap without a reply, round-trip times. */
    public record Summary(long sent, long received, long maxGapMillis, long lost, double rttP50Millis,
                          double rttP99Millis, double rttMaxMillis, long levelStarts) {
    }

    /** A stretch without replies: after the reply at {@code fromMillis} none came until {@code toMillis}. */
    public record Gap(long fromMillis, long toMillis) {
        public long millis() {
            return toMillis - fromMillis;
        }
    }

    public GameProbe {
        replies = List.copyOf(replies);
        other = List.copyOf(other);
    }

    /** Parses mmprobe's q3 output. */
    public static GameProbe of(List<String> lines) {
        List<Reply> replies = new ArrayList<>();
        List<String> other = new ArrayList<>();
        Summary summary = null;
        for (String line : lines) {
            Matcher r = REPLY.matcher(line);
            if (r.matches()) {
                replies.add(new Reply(Long.parseLong(r.group(1)), Long.parseLong(r.group(2)), r.group(3), r.group(4),
                        Integer.parseInt(r.group(5)), Long.parseLong(r.group(6)), r.group(7), r.group(8)));
                continue;
            }
            Matcher s = SUMMARY.matcher(line);
            if (s.matches()) {
                summary = new Summary(Long.parseLong(s.group(1)), Long.parseLong(s.group(2)), Long.parseLong(s.group(3)),
                        Long.parseLong(s.group(4)), Double.parseDouble(s.group(5)), Double.parseDouble(s.group(6)),
                        Double.parseDouble(s.group(7)), Long.parseLong(s.group(8)));
                continue;
            }
            other.add(line);
        }
        return new GameProbe(replies, Optional.ofNullable(summary), other);
    }

    /**
     * mmprobe's arguments (after the binary) for a probe of {@code ip:port} every {@code intervalMs}
     * for {@code seconds}; with an rcon password and {@code sources} consecutive source addresses
     * from {@code firstSource} (at least 1000 / intervalMs of them) when faster than once a second.
     */
    public static List<String> args(String ip, int port, int intervalMs, int seconds, String rconPassword,
                                    String firstSource, int sources) {
        List<String> a = new ArrayList<>(List.of("q3", ip, Integer.toString(port), Integer.toString(intervalMs),
                Integer.toString(seconds)));
        if (rconPassword != null) a.add("rcon=" + rconPassword);
        if (firstSource != null) a.add("from=" + firstSource + "," + sources);
        return a;
    }

    /** The status replies (those that carry the level start and host name). */
    public List<Reply> statusReplies() {
        return replies.stream().filter(Reply::isStatus).toList();
    }

    /** The distinct level start times seen, in order of first appearance (one: the level went on throughout). */
    public List<String> levelStarts() {
        return statusReplies().stream().map(Reply::levelStart).filter(s -> !s.equals(UNKNOWN)).distinct().toList();
    }

    /** The longest time between two consecutive replies, if there were at least two. */
    public Optional<Gap> longestGap() {
        Gap longest = null;
        for (int i = 1; i < replies.size(); i++) {
            Gap g = new Gap(replies.get(i - 1).atMillis(), replies.get(i).atMillis());
            if (longest == null || g.millis() > longest.millis()) longest = g;
        }
        return Optional.ofNullable(longest);
    }

    /** The last reply that arrived at or before {@code millis}. */
    public Optional<Reply> lastAtOrBefore(long millis) {
        Reply last = null;
        for (Reply r : replies) if (r.atMillis() <= millis) last = r;
        return Optional.ofNullable(last);
    }

    /** The first reply after {@code millis}. */
    public Optional<Reply> firstAfter(long millis) {
        return replies.stream().filter(r -> r.atMillis() > millis).findFirst();
    }
}
