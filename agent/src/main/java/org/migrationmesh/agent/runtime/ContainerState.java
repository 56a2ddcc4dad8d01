package org.migrationmesh.agent.runtime;

import java.nio.file.Path;

/** What {@code runc state} says of one container. */
public record ContainerState(String id, int pid, String status, Path bundle) {
    public boolean running() {
        return "running".equals(status);
    }
}
