package org.migrationmesh.agent.tour;

import java.util.ArrayList;
import java.util.List;

/**
 * What the client saw of one leg, from the prober's replies in a time window: the longest
 * silence, the requests that got no answer, and whether the server went on (its own counter
 * kept rising under one process identity) rather than restarting. Pure.
 *
 * @param replies     replies that arrived in the window
 * @param expected    requests sent in the window (by sequence number)
 * @param lost        requests of the window that got no reply
 * @param longestGapMs longest time without a reply inside the window (edges included)
 * @param continued   the server's identity stayed the same across the window and its counter, if it
 *                    has one (-1: none), rose
 * @param counterBefore the server's counter in the first reply of the window (-1: none)
 * @param counterAfter  and in the last one
 */
public record ClientView(int replies, long expected, long lost, long longestGapMs, boolean continued,
                        long counterBefore, long counterAfter) {

    /**
     * One reply of the server: when it arrived (ms since the prober started), the sequence
     * number of the request it answers (-1: not known), the server's own counter (ticks; -1: none) and
     * an identity that changes if the server restarts (its start time, its pid).
     */
    public record Reply(long atMillis, long seq, long counter, String identity) {}

    /** The view of the window {@code [fromMs, toMs]} of a prober sending every {@code intervalMs}. */
    public static ClientView of(List<Reply> all, long fromMs, long toMs, long intervalMs) {
        if (toMs <= fromMs || intervalMs <= 0) throw new IllegalArgumentException("empty window or interval");
        List<Reply> in = new ArrayList<>();
        for (Reply r : all) if (r.atMillis() >= fromMs && r.atMillis() <= toMs) in.add(r);
        long firstSeq = (fromMs + intervalMs - 1) / intervalMs;
        // Requests sent within the last second of the window may still be on their way.
        long lastSeq = Math.max(firstSeq - 1, (toMs - 1000) / intervalMs);
        long expected = lastSeq - firstSeq + 1;
        // Replies carry the request's sequence number, or else (-1) count those that arrived in the same span.
        long answered = in.stream().anyMatch(r -> r.seq() < 0)
                ? in.stream().filter(r -> r.atMillis() >= firstSeq * intervalMs && r.atMillis() <= lastSeq * intervalMs).count()
                : in.stream().mapToLong(Reply::seq).filter(s -> s >= firstSeq && s <= lastSeq).distinct().count();
        long gap = 0;
        long prev = fromMs;
        for (Reply r : in) {
            gap = Math.max(gap, r.atMillis() - prev);
            prev = r.atMillis();
        }
        gap = Math.max(gap, toMs - prev);
        boolean continued = !in.isEmpty();
        for (int i = 1; i < in.size(); i++) {
            Reply a = in.get(i - 1), b = in.get(i);
            if (!a.identity().equals(b.identity()) || b.counter() < a.counter()) continued = false;
        }
        boolean counts = !in.isEmpty() && in.get(0).counter() >= 0;
        if (continued && counts && in.get(in.size() - 1).counter() <= in.get(0).counter()) continued = false;
        return new ClientView(in.size(), expected, Math.max(0, expected - answered), gap, continued,
                in.isEmpty() ? -1 : in.get(0).counter(), in.isEmpty() ? -1 : in.get(in.size() - 1).counter());
    }
}
