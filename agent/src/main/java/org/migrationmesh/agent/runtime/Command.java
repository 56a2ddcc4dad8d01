package org.migrationmesh.agent.runtime;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One process to run: argv, a deadline, whether its stdio must be detached, and variables
 * added to the agent's environment for it ({@code env}, usually empty).
 *
 * <p>{@code detachedStdio} puts stdin, stdout and stderr on /dev/null. runc passes its own
 * stdio to a detached container, and CRIU cannot dump a container whose stdio is a pipe
 * to the agent or a host file; such commands report errors through runc's log instead.
 */
public record Command(List<String> argv, Duration timeout, boolean detachedStdio, Map<String, String> env) {
    public Command {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        if (argv.isEmpty()) throw new IllegalArgumentException("empty argv");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }

    public static Command of(Duration timeout, List<String> argv) {
        return new Command(argv, timeout, false);
    }

    public Command(List<String> argv, Duration timeout, boolean detachedStdio) {
        this(argv, timeout, detachedStdio, Map.of());
    }
}
