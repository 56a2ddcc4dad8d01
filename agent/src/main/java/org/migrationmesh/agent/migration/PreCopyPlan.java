package org.migrationmesh.agent.migration;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Decides, after each pre-copy round, whether to copy again or to freeze. Pure: it sees only
 * the rounds so far and the link's measured bandwidth.
 *
 * <p>{@code auto} keeps iterating while each round sends clearly less than the one before,
 * and freezes as soon as the predicted final transfer fits the downtime budget at the
 * measured bandwidth, or when rounds stop shrinking (the workload dirties memory as fast as
 * the link carries it), or at the round bound. It never loops forever.
 */
public final class PreCopyPlan {
    /** A later round must send at most this fraction of the previous one to count as shrinking. */
    static final double SHRINK = 0.8;

    /** How many rounds: none, a fixed number, or decided by the figures. */
    public sealed interface Mode permits Off, Fixed, Auto {
        /** Parses the CLI's {@code --pre-copy auto|off|N}. */
        static Mode parse(String s) {
            Objects.requireNonNull(s, "pre-copy mode");
            return switch (s) {
                case "off", "0" -> new Off();
                case "auto" -> new Auto();
                default -> {
                    int n;
                    try {
                        n = Integer.parseInt(s);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--pre-copy must be auto, off or a number of rounds, got '" + s + "'", e);
                    }
                    if (n < 0 || n > MAX_ROUNDS) {
                        throw new IllegalArgumentException("--pre-copy rounds must be 0.." + MAX_ROUNDS + ", got " + n);
                    }
                    yield n == 0 ? new Off() : new Fixed(n);
                }
            };
        }
    }

    public record Off() implements Mode {
    }

    public record Fixed(int rounds) implements Mode {
    }

    public record Auto() implements Mode {
    }

    /** The hard bound on rounds in any mode. */
    public static final int MAX_ROUNDS = 10;

    /**
     * One finished round: the bytes it put on the wire and how long the copy took; or a probe
     * ({@link #afterProbe}): the bytes a round would have sent, sent by none.
     */
    public record Round(long wireBytes, Duration elapsed, boolean probe) {
        public Round {
            if (wireBytes < 0) throw new IllegalArgumentException("negative bytes: " + wireBytes);
            Objects.requireNonNull(elapsed, "elapsed");
        }

        public Round(long wireBytes, Duration elapsed) {
            this(wireBytes, elapsed, false);
        }
    }

    /** What to do next, and why (shown to the user in the migration report). */
    public record Decision(boolean copyAgain, String reason) {
        static Decision again(String reason) {
            return new Decision(true, reason);
        }

        static Decision freeze(String reason) {
            return new Decision(false, reason);
        }
    }

    private final Mode mode;
    private final Duration maxDowntime;
    private final Duration freezeOverhead;

    /**
     * @param maxDowntime    the downtime budget ({@code --max-downtime})
     * @param freezeOverhead what a freeze costs besides the final transfer (dump + restore), estimated
     */
    public PreCopyPlan(Mode mode, Duration maxDowntime, Duration freezeOverhead) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.maxDowntime = Objects.requireNonNull(maxDowntime, "maxDowntime");
        this.freezeOverhead = Objects.requireNonNull(freezeOverhead, "freezeOverhead");
    }

    /** Whether to run a first round at all. */
    public Decision first() {
        return mode instanceof Off ? Decision.freeze("pre-copy off") : Decision.again("first round copies all memory");
    }

    /**
     * After {@code rounds} (at least one), with the link measured at {@code bytesPerSecond}:
     * copy again, or freeze now.
     */
    public Decision next(List<Round> rounds, double bytesPerSecond) {
        if (rounds.isEmpty()) throw new IllegalArgumentException("next() needs at least one finished round");
        int done = rounds.size();
        int sent = (int) rounds.stream().filter(r -> !r.probe()).count();
        if (mode instanceof Off) return Decision.freeze("pre-copy off");
        if (mode instanceof Fixed f) {
            return done < f.rounds() ? Decision.again("round " + (done + 1) + " of " + f.rounds())
                    : Decision.freeze(f.rounds() + " rounds done");
        }
        if (done >= MAX_ROUNDS) return Decision.freeze("round bound " + MAX_ROUNDS + " reached");
        Round last = rounds.get(done - 1);
        // What the final transfer will carry is about what changed during the last round.
        Duration predicted = transferTime(last.wireBytes(), bytesPerSecond);
        Duration budget = maxDowntime.minus(freezeOverhead);
        if (done >= 2 && predicted.compareTo(budget) <= 0) {
            return Decision.freeze("predicted final transfer " + predicted.toMillis() + " ms fits the budget "
                    + budget.toMillis() + " ms");
        }
        if (done >= 2) {
            Round before = rounds.get(done - 2);
            if (last.wireBytes() > before.wireBytes() * SHRINK) {
                return Decision.freeze("round " + sent + " sent " + last.wireBytes() + " B, not less than "
                        + (int) (SHRINK * 100) + "% of the " + before.wireBytes() + " B " + (before.probe() ? "the probe found changed"
                        : "before") + ": memory changes as fast as it is copied");
            }
        }
        return Decision.again("predicted final transfer " + predicted.toMillis() + " ms exceeds the budget "
                + Math.max(0, budget.toMillis()) + " ms");
    }

    /**
     * Whether to measure before a second round: in {@code auto} mode, once, after the first round
     * when it says copy again. A probe reads memory and counts what changed, sending nothing (see
     * {@link #afterProbe}).
     */
    public boolean probesAfter(List<Round> rounds, Decision next) {
        return mode instanceof Auto && rounds.size() == 1 && next.copyAgain();
    }

    /**
     * After a probe that found {@code changed} (the bytes the pages changed since the first round
     * would put on the wire): freeze if sending them as the final image fits the budget, else
     * copy again. A second round sends the working set a running process rewrites all the time,
     * and the final image sends it again; when it fits anyway, that round is bytes for nothing.
     */
    public Decision afterProbe(Round changed, double bytesPerSecond) {
        Duration predicted = transferTime(changed.wireBytes(), bytesPerSecond);
        Duration budget = maxDowntime.minus(freezeOverhead);
        if (predicted.compareTo(budget) <= 0) {
            return Decision.freeze("probe: " + changed.wireBytes() + " B changed since round 1, a final transfer of "
                    + predicted.toMillis() + " ms (round trips aside) fits the budget " + budget.toMillis() + " ms");
        }
        return Decision.again("probe: " + changed.wireBytes() + " B changed since round 1, a final transfer of "
                + predicted.toMillis() + " ms (round trips aside) exceeds the budget " + Math.max(0, budget.toMillis()) + " ms");
    }

    /**
     * The link's rate for a round's bytes, apart from its latency: {@code bytes} sent in
     * {@code calls} calls that took {@code sendingNanos} in all, each waiting a round trip
     * ({@code roundTripNanos}, 0 if unknown) for its answer. What a further round can shorten is
     * the time the bytes take, not those round trips: counted in, a small round on a long link
     * (one call, ~100 KB in ~200 ms, 165 of them the round trip) made 55 KB of changed pages look
     * like 340 ms to send, and bought a second round that sent the same working set again. The
     * bytes are given at least a tenth of the sending time, so an overestimated round trip can
     * make the link look at most ten times faster than the plain figure.
     */
    static double linkRate(long bytes, long sendingNanos, int calls, long roundTripNanos) {
        if (bytes <= 0 || sendingNanos <= 0) return 0;
        long latency = (long) calls * Math.max(0, roundTripNanos);
        double seconds = Math.max(sendingNanos - latency, sendingNanos / 10.0) / 1e9;
        return bytes / seconds;
    }

    static Duration transferTime(long bytes, double bytesPerSecond) {
        if (bytesPerSecond <= 0) return Duration.ofDays(1);
        return Duration.ofNanos((long) (bytes / bytesPerSecond * 1e9));
    }
}
