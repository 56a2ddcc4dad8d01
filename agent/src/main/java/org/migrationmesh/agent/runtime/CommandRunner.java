package org.migrationmesh.agent.runtime;

import java.io.IOException;

/** Runs processes; the one seam between the runtime adapter and the operating system. */
public interface CommandRunner {
    /** Runs to completion (or kills it at the deadline) and returns what it did. */
    Execution run(Command command) throws IOException;

    /**
     * Runs it as {@link #run} does, but a command that cannot start (its tool is missing) comes back
     * as an execution with exit code 127 and the reason on stderr, as a shell says so.
     */
    default Execution runOrMissing(Command command) {
        try {
            return run(command);
        } catch (IOException e) {
            return new Execution(127, "", e.getMessage(), 0);
        }
    }

    /** Starts without waiting; the caller owns the process. stdout/stderr go to the given files. */
    Process start(Command command, java.nio.file.Path stdout, java.nio.file.Path stderr) throws IOException;

    /** What a finished command did. {@code exitCode} is {@link CommandFailure#TIMED_OUT} on timeout. */
    record Execution(int exitCode, String stdout, String stderr, long elapsedNanos) {
        public boolean succeeded() {
            return exitCode == 0;
        }
    }
}
