package org.migrationmesh.agent.runtime;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings that apply to every runc call of one agent (one simulated host): the binaries,
 * the state root (each host needs its own), where per-call logs go, and deadlines.
 */
public record RuncConfig(Path runc, Path criu, Path root, Path logDir, Duration commandTimeout,
                         Duration checkpointTimeout) {
    public RuncConfig {
        Objects.requireNonNull(runc, "runc");
        Objects.requireNonNull(criu, "criu");
        CheckpointOptions.requireAbsolute(root, "root");
        CheckpointOptions.requireAbsolute(logDir, "logDir");
        Objects.requireNonNull(commandTimeout, "commandTimeout");
        Objects.requireNonNull(checkpointTimeout, "checkpointTimeout");
    }

    /** Defaults: runc from PATH, CRIU from scripts/setup-host.sh, 30 s per call, 5 min per dump. */
    public static RuncConfig defaults(Path root, Path logDir) {
        return new RuncConfig(Path.of("runc"), Criu.DEFAULT_BINARY, root, logDir, Duration.ofSeconds(30),
                Duration.ofMinutes(5));
    }
}
