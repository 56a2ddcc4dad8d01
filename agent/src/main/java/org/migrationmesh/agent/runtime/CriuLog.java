package org.migrationmesh.agent.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * Picks what a person needs from a CRIU log: its error lines (the first one names the cause;
 * the last ones only say "Dumping FAILED"), followed by the last lines for context.
 */
final class CriuLog {
    private static final int MAX_ERRORS = 8;
    private static final int CONTEXT = 5;

    private CriuLog() {}

    /** The error lines and the last {@value #CONTEXT} lines of {@code log}; pure. */
    static String summary(String log) {
        List<String> lines = log.lines().toList();
        List<String> picked = new ArrayList<>();
        for (String l : lines) {
            if (l.contains("Error (") && picked.size() < MAX_ERRORS) picked.add(l);
        }
        for (String l : lines.subList(Math.max(0, lines.size() - CONTEXT), lines.size())) {
            if (!picked.contains(l)) picked.add(l);
        }
        return String.join("\n", picked);
    }
}
