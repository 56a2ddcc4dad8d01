package org.migrationmesh.agent.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * The one place that maps failures to exit codes and prints them: one line on stderr, the stack
 * only with {@code --verbose}.
 *
 * <table>
 *   <tr><td>0</td><td>success</td></tr>
 *   <tr><td>1</td><td>unexpected failure</td></tr>
 *   <tr><td>2</td><td>bad usage or invalid argument</td></tr>
 *   <tr><td>3</td><td>cluster or peer unavailable, timeout (retry, maybe at the leader named)</td></tr>
 *   <tr><td>4</td><td>not found</td></tr>
 *   <tr><td>5</td><td>refused: conflict, stale epoch, already migrating, exists</td></tr>
 * </table>
 */
final class ExitCodes implements IExecutionExceptionHandler {
    static final int FAILURE = 1;
    static final int USAGE = 2;
    static final int UNAVAILABLE = 3;
    static final int NOT_FOUND = 4;
    static final int REFUSED = 5;

    private final GlobalOptions options;

    ExitCodes(GlobalOptions options) {
        this.options = options;
    }

    static int of(Throwable e) {
        if (e instanceof StatusRuntimeException sre) {
            Status.Code code = sre.getStatus().getCode();
            return switch (code) {
                case UNAVAILABLE, DEADLINE_EXCEEDED -> UNAVAILABLE;
                case NOT_FOUND -> NOT_FOUND;
                case FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED -> REFUSED;
                case INVALID_ARGUMENT -> USAGE;
                default -> FAILURE;
            };
        }
        if (e instanceof IllegalArgumentException) return USAGE;
        return FAILURE;
    }

    static String oneLine(Throwable e) {
        if (e instanceof StatusRuntimeException sre) {
            Status s = sre.getStatus();
            String what = s.getDescription() != null ? s.getDescription()
                    : s.getCause() != null ? s.getCause().toString() : "no description";
            return s.getCode() + ": " + what;
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /**
     * A hint for failures that happened on this side of the connection (a status with a local cause:
     * the agent was never reached), as opposed to statuses an agent sent, which explain themselves.
     */
    static String hint(Throwable e, String peer) {
        if (e instanceof StatusRuntimeException sre && sre.getStatus().getCause() != null) {
            Throwable root = sre.getStatus().getCause();
            while (root.getCause() != null) root = root.getCause();
            return " (agent at " + peer + " not reachable: " + root.getMessage()
                    + "; is it running? try another agent with --peer)";
        }
        if (e instanceof StatusRuntimeException sre && sre.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
            return " (no answer from " + peer + " in time; raise --timeout or ask another agent with --peer)";
        }
        return "";
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
        cmd.getErr().println("agentctl: " + (oneLine(e) + hint(e, options.peer)).replace('\n', ' '));
        if (options.verbose) e.printStackTrace(cmd.getErr());
        cmd.getErr().flush();
        return of(e);
    }
}
