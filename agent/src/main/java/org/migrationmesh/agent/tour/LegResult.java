package org.migrationmesh.agent.tour;

import java.util.Locale;

/**
 * The figures of one leg by one method: what the method itself measured (downtime from freeze
 * to serving, freeze time, bytes on the wire of the whole migration, total time) and what the
 * client saw.
 */
public record LegResult(String method, int repetition, String from, Leg leg, long downtimeMs, long freezeMs,
                        long wireBytes, long totalMs, ClientView client, double pingBeforeMs, double pingAfterMs,
                        long progressBefore, long progressAfter) {

    /** The client saw the same server throughout, and its own progress (if it reports one) went on. */
    boolean serverWentOn() {
        return client.continued() && (progressBefore < 0 || progressAfter > progressBefore);
    }

    static final String CSV_HEADER = "method,repetition,from,to,mode,client_gap_ms,lost,downtime_ms,freeze_ms,"
            + "wire_bytes,total_ms,ping_before_ms,ping_after_ms,progress_before,progress_after,continued";

    String csv() {
        return String.format(Locale.ROOT, "%s,%d,%s,%s,%s,%d,%d,%d,%d,%d,%d,%.2f,%.2f,%d,%d,%s", method, repetition, from, leg.to(),
                leg.mode().word(), client.longestGapMs(), client.lost(), downtimeMs, freezeMs, wireBytes, totalMs,
                pingBeforeMs, pingAfterMs, progressBefore, progressAfter, serverWentOn());
    }
}
