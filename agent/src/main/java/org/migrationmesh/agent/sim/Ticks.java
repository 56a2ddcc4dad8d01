package org.migrationmesh.agent.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a TCP client of the tick server saw: every "tick N start S" line mmprobe printed, with
 * the millisecond it arrived. One start time and consecutive counters mean the process went
 * on (restored, not restarted); the gaps between arrivals are the client's view of downtime.
 */
public record Ticks(List<Tick> ticks) {
    private static final Pattern TICK = Pattern.compile("^(\\d+) tick (\\d+) start (\\d+)$");

    /** One line: when it arrived (ms since the client connected), the counter, the process start. */
    public record Tick(long atMillis, long counter, long start) {
    }

    /** The tick lines among mmprobe's output; pure. */
    public static Ticks of(List<String> lines) {
        List<Tick> out = new ArrayList<>();
        for (String l : lines) {
            Matcher m = TICK.matcher(l);
            if (m.matches()) out.add(new Tick(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
        }
        return new Ticks(List.copyOf(out));
    }

    public int size() {
        return ticks.size();
    }

    /** How many different process start times were seen (1: one process throughout). */
    public long starts() {
        return ticks.stream().mapToLong(Tick::start).distinct().count();
    }

    /** Whether every counter follows the one before (nothing lost, nothing repeated). */
    public boolean consecutive() {
        for (int i = 1; i < ticks.size(); i++) {
            if (ticks.get(i).counter() != ticks.get(i - 1).counter() + 1) return false;
        }
        return true;
    }

    /** The gaps between arrivals, longest first. */
    public List<Long> gapsLongestFirst() {
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < ticks.size(); i++) gaps.add(ticks.get(i).atMillis() - ticks.get(i - 1).atMillis());
        gaps.sort(java.util.Comparator.reverseOrder());
        return gaps;
    }
}
