package org.migrationmesh.agent.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * A runc or CRIU command exited non-zero or did not finish in time. Keeps the argv, the exit
 * code, the tail of its stderr (or of runc's log) and the path and tail of CRIU's log.
 */
public final class CommandFailure extends RuntimeFailure {
    private static final long serialVersionUID = 1L;
    /** Exit code used when the command was killed for exceeding its deadline. */
    public static final int TIMED_OUT = -1;

    private final List<String> argv;
    private final int exitCode;
    private final String stderrTail;
    private final transient Path criuLog;
    private final String criuLogTail;

    public CommandFailure(String containerId, Phase phase, List<String> argv, int exitCode,
                          String stderrTail, Path criuLog, String criuLogTail) {
        super(containerId, phase, describe(argv, exitCode, stderrTail, criuLog, criuLogTail));
        this.argv = List.copyOf(argv);
        this.exitCode = exitCode;
        this.stderrTail = stderrTail;
        this.criuLog = criuLog;
        this.criuLogTail = criuLogTail;
    }

    private static String describe(List<String> argv, int exitCode, String stderrTail, Path criuLog,
                                   String criuLogTail) {
        StringBuilder sb = new StringBuilder();
        sb.append(exitCode == TIMED_OUT ? "timed out" : "exit code " + exitCode);
        if (stderrTail != null && !stderrTail.isBlank()) sb.append(": ").append(stderrTail.strip());
        sb.append("\n  command: ").append(String.join(" ", argv));
        if (criuLog != null) {
            sb.append("\n  CRIU log: ").append(criuLog);
            if (criuLogTail != null && !criuLogTail.isBlank()) {
                sb.append("\n  CRIU log tail:\n    ").append(criuLogTail.strip().replace("\n", "\n    "));
            }
        }
        return sb.toString();
    }

    public List<String> argv() {
        return argv;
    }

    public int exitCode() {
        return exitCode;
    }

    public boolean timedOut() {
        return exitCode == TIMED_OUT;
    }

    public String stderrTail() {
        return stderrTail;
    }

    public Path criuLog() {
        return criuLog;
    }

    public String criuLogTail() {
        return criuLogTail;
    }
}
