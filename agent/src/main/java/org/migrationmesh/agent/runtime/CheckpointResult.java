package org.migrationmesh.agent.runtime;

import org.migrationmesh.proto.runtime.DumpStats;

import java.nio.file.Path;
import java.time.Duration;

/** A finished dump: where its images are, how big, how long it took, and CRIU's own figures. */
public record CheckpointResult(String containerId, Path imagePath, long imageBytes, Duration elapsed,
                               DumpStats stats) {
    /** How long the container's tasks were frozen, from CRIU's statistics. */
    public Duration frozen() {
        return Duration.ofNanos(stats.getFrozenTimeUs() * 1000);
    }
}
