package org.migrationmesh.agent.runtime;

import java.io.IOException;

/** Runs processes; the one seam between the runtime adapter and the operating system. */
public interface CommandRunner {
    /** Runs to completion (or kills it at the deadline) and returns what it did. */
    Execution run(Command command) throws IOException;

    /** Starts without waiting; the caller owns the process. stdout/stderr go to the given files. */
    Process start(Command command, java.nio.file.Path stdout, java.nio.file.Path stderr) throws IOException;

    /** What a finished command did. {@code exitCode} is {@link CommandFailure#TIMED_OUT} on timeout. */
    record Execution(int exitCode, String stdout, String stderr, long elapsedNanos) {
        public boolean succeeded() {
            return exitCode == 0;
        }
    }
}
