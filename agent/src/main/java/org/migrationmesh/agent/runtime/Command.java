package org.migrationmesh.agent.runtime;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One process to run: argv, a deadline, whether its stdio must be detached, variables added to
 * the agent's environment for it ({@code env}, usually empty), and files for its stdin and
 * stdout ({@code stdinFrom}, {@code stdoutTo}; null: stdin is /dev/null, stdout is read into
 * the execution's result).
 *
 * <p>{@code detachedStdio} puts stdin, stdout and stderr on /dev/null. runc passes its own
 * stdio to a detached container, and CRIU cannot dump a container whose stdio is a pipe
 * to the agent or a host file; such commands report errors through runc's log instead.
 */
public record Command(List<String> argv, Duration timeout, boolean detachedStdio, Map<String, String> env,
                      Path stdinFrom, Path stdoutTo) {
    public Command {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        if (argv.isEmpty()) throw new IllegalArgumentException("empty argv");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive: " + timeout);
        if (detachedStdio && (stdinFrom != null || stdoutTo != null)) {
            throw new IllegalArgumentException("a command with detached stdio reads and writes no files: " + argv);
        }
    }

    public Command(List<String> argv, Duration timeout, boolean detachedStdio, Map<String, String> env) {
        this(argv, timeout, detachedStdio, env, null, null);
    }

    public static Command of(Duration timeout, List<String> argv) {
        return new Command(argv, timeout, false);
    }

    /** {@code argv} run inside network namespace {@code netns} (a name under /var/run/netns): {@code ip netns exec}. */
    public static List<String> inNamespace(String netns, List<String> argv) {
        List<String> full = new java.util.ArrayList<>(List.of("ip", "netns", "exec", netns));
        full.addAll(argv);
        return full;
    }

    public Command(List<String> argv, Duration timeout, boolean detachedStdio) {
        this(argv, timeout, detachedStdio, Map.of());
    }

    /** The same command reading its stdin from {@code file}. */
    public Command withStdinFrom(Path file) {
        return new Command(argv, timeout, detachedStdio, env, Objects.requireNonNull(file, "file"), stdoutTo);
    }

    /** The same command writing its stdout to {@code file} (created or truncated). */
    public Command withStdoutTo(Path file) {
        return new Command(argv, timeout, detachedStdio, env, stdinFrom, Objects.requireNonNull(file, "file"));
    }
}
