package org.migrationmesh.agent.runtime;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How to restore a container from images into a bundle (which may name a different network
 * namespace and cgroup path than the checkpointed one). {@link #args} builds the argv of
 * {@code runc restore}; the restored container is always detached.
 */
public record RestoreOptions(Path imagePath, Path workPath, boolean tcpEstablished, boolean lazyPages,
                             boolean fileLocks) {
    public RestoreOptions {
        CheckpointOptions.requireAbsolute(imagePath, "imagePath");
        CheckpointOptions.requireAbsolute(workPath, "workPath");
    }

    public static RestoreOptions of(Path imagePath, Path workPath) {
        return new RestoreOptions(imagePath, workPath, true, false, false);
    }

    public RestoreOptions withLazyPages(boolean value) {
        return new RestoreOptions(imagePath, workPath, tcpEstablished, value, fileLocks);
    }

    public RestoreOptions withTcpEstablished(boolean value) {
        return new RestoreOptions(imagePath, workPath, value, lazyPages, fileLocks);
    }

    public List<String> args(String containerId, Path bundle, Path pidFile) {
        List<String> a = new ArrayList<>(List.of("restore", "--detach", "--image-path", imagePath.toString(),
                "--work-path", workPath.toString(), "--bundle", bundle.toString(), "--pid-file", pidFile.toString()));
        if (tcpEstablished) a.add("--tcp-established");
        if (lazyPages) a.add("--lazy-pages");
        if (fileLocks) a.add("--file-locks");
        a.add(Objects.requireNonNull(containerId, "containerId"));
        return a;
    }
}
