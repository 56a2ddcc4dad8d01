package org.migrationmesh.agent.runtime;

import org.migrationmesh.proto.runtime.RestoreStats;

import java.time.Duration;

/** A finished restore: the new init pid, how long it took, and CRIU's own figures. */
public record RestoreResult(String containerId, int pid, Duration elapsed, RestoreStats stats) {
}
