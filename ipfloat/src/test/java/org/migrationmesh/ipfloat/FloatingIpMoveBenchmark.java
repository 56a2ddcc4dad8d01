package org.migrationmesh.ipfloat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Measures floating-IP moves between two namespaces while a client probes the address every
 * 10 ms: time from the claim call to the first reply from the new owner (median, p90), the
 * datagrams lost per move, and, as the baseline in the same run, a few moves without the
 * gratuitous ARP (the client then finds the new owner only when its neighbour entry expires;
 * a move back to the host its entry still points at is answered at once, so the baseline
 * alternates "stuck" and "lucky" moves).
 *
 * <p>Run as root: {@code scripts/bench-ipfloat.sh [MOVES] [BASELINE_MOVES]}.
 */
public final class FloatingIpMoveBenchmark {
    private static final long GAP_MS = 1200;
    private static final long BASELINE_CAP_MS = 10_000;

    private FloatingIpMoveBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int moves = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int baselineMoves = args.length > 1 ? Integer.parseInt(args[1]) : 3;

        List<Double> firstReply = new ArrayList<>();
        List<Double> wholeMove = new ArrayList<>();
        List<Double> claimCall = new ArrayList<>();
        List<Double> releaseCall = new ArrayList<>();
        List<Long> lost = new ArrayList<>();
        long neighbourWrong = 0;
        long strayReplies = 0;
        try (MoveScenario s = new MoveScenario(new AnnouncePolicy(3, Duration.ofSeconds(2)), true)) {
            s.begin("a", (int) (moves * (GAP_MS + 200) / 1000) + 15);
            for (int i = 0; i < moves; i++) {
                Thread.sleep(GAP_MS);
                MoveScenario.Move m = s.move(s.owner().equals("a") ? "b" : "a", 5000);
                if (!s.net.neighbourMac("c", s.vip.host()).equals(s.net.mac(m.to()))) {
                    neighbourWrong++;
                }
            }
            Thread.sleep(300);
            List<MoveScenario.Move> done = s.moves();
            for (int i = 0; i < done.size(); i++) {
                MoveScenario.Move m = done.get(i);
                long until = i + 1 < done.size() ? done.get(i + 1).releaseNanos() : System.nanoTime();
                firstReply.add(m.claimToFirstReplyMs());
                wholeMove.add(m.firstFromNew() == null ? Double.NaN
                        : (m.firstFromNew().nanos() - m.releaseNanos()) / 1e6);
                claimCall.add(m.claim().took().toNanos() / 1e6);
                releaseCall.add(m.release().took().toNanos() / 1e6);
                lost.add(s.lost(m));
                strayReplies += s.repliesFromOldAfterwards(m, until);
            }
            s.probe().close();
        }

        List<Double> baseline = new ArrayList<>();
        if (baselineMoves > 0) {
            try (MoveScenario s = new MoveScenario(new AnnouncePolicy(1, Duration.ZERO), false)) {
                s.begin("a", (int) (baselineMoves * (BASELINE_CAP_MS + GAP_MS) / 1000) + 15);
                for (int i = 0; i < baselineMoves; i++) {
                    Thread.sleep(GAP_MS);
                    MoveScenario.Move m = s.move(s.owner().equals("a") ? "b" : "a", BASELINE_CAP_MS);
                    baseline.add(m.firstFromNew() == null ? (double) BASELINE_CAP_MS : m.claimToFirstReplyMs());
                }
            }
        }

        System.out.printf("floating IP moves between two namespaces, client probing UDP every 10 ms, %d moves%n",
                moves);
        System.out.printf("  claim call -> first reply from new owner: median %.1f ms, p90 %.1f ms, max %.1f ms%n",
                percentile(firstReply, 50), percentile(firstReply, 90), percentile(firstReply, 100));
        System.out.printf("  release call on the old owner -> first reply from the new: median %.1f ms, p90 %.1f ms%n",
                percentile(wholeMove, 50), percentile(wholeMove, 90));
        System.out.printf("  release call (ip addr del): median %.1f ms; claim call (ip addr add): median %.1f ms%n",
                percentile(releaseCall, 50), percentile(claimCall, 50));
        List<Double> lostD = lost.stream().map(Long::doubleValue).toList();
        System.out.printf("  datagrams lost per move: median %.0f, p90 %.0f, max %.0f, total %d%n",
                percentile(lostD, 50), percentile(lostD, 90), percentile(lostD, 100),
                lost.stream().mapToLong(Long::longValue).sum());
        System.out.printf("  client neighbour entry not on the new owner after its first reply: %d of %d moves;"
                + " replies from the old owner afterwards: %d%n", neighbourWrong, moves, strayReplies);
        if (!baseline.isEmpty()) {
            double median = percentile(baseline, 50);
            System.out.printf("baseline without gratuitous ARP (%d moves, capped at %d ms): %s ms, median %s%.0f ms"
                            + " -> with announcements %.0fx faster%n", baseline.size(), BASELINE_CAP_MS,
                    baseline.stream().map(v -> String.format("%.0f", v)).toList(),
                    median >= BASELINE_CAP_MS ? ">= " : "", median, median / percentile(firstReply, 50));
        }
    }

    /** Nearest-rank percentile. */
    static double percentile(List<Double> values, int p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }
}
