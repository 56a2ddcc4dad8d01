package org.migrationmesh.agent.runtime;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How to checkpoint one container. {@link #args(String)} is the pure argv builder for
 * {@code runc checkpoint}; the image and work paths must be absolute (restore changes
 * directory to the bundle before CRIU opens them).
 *
 * @param imagePath      where CRIU writes the image files
 * @param workPath       where dump.log and stats-dump go
 * @param parentPath     previous pre-dump's image dir (dirty tracking only), or null
 * @param preDump        a pre-dump: memory only, the container keeps running
 * @param leaveRunning   keep the container running after a full dump
 * @param tcpEstablished dump established TCP connections (the client stays connected)
 * @param fileLocks      dump file locks
 * @param teardownBehind on a final dump, CRIU's and runc's teardown after the images are written
 *                       runs behind everything else on the host: nothing waits for runc's return
 *                       (see {@link Runc#TEARDOWN_NICE})
 */
public record CheckpointOptions(Path imagePath, Path workPath, Path parentPath, boolean preDump,
                                boolean leaveRunning, boolean tcpEstablished, boolean fileLocks, boolean teardownBehind) {
    public CheckpointOptions {
        requireAbsolute(imagePath, "imagePath");
        requireAbsolute(workPath, "workPath");
        if (parentPath != null) requireAbsolute(parentPath, "parentPath");
    }

    /** A stop-and-copy dump with established TCP connections, into {@code imagePath}. */
    public static CheckpointOptions stopAndCopy(Path imagePath, Path workPath) {
        return new CheckpointOptions(imagePath, workPath, null, false, false, true, false, false);
    }

    public CheckpointOptions withLeaveRunning(boolean value) {
        return new CheckpointOptions(imagePath, workPath, parentPath, preDump, value, tcpEstablished, fileLocks, teardownBehind);
    }

    public CheckpointOptions withTcpEstablished(boolean value) {
        return new CheckpointOptions(imagePath, workPath, parentPath, preDump, leaveRunning, value, fileLocks, teardownBehind);
    }

    /** A pre-dump on top of {@code parent} (null for the first round). Needs dirty tracking. */
    public CheckpointOptions asPreDump(Path parent) {
        return new CheckpointOptions(imagePath, workPath, parent, true, false, tcpEstablished, fileLocks, false);
    }

    public CheckpointOptions withParent(Path parent) {
        return new CheckpointOptions(imagePath, workPath, parent, preDump, leaveRunning, tcpEstablished, fileLocks, teardownBehind);
    }

    public CheckpointOptions withTeardownBehind(boolean value) {
        return new CheckpointOptions(imagePath, workPath, parentPath, preDump, leaveRunning, tcpEstablished, fileLocks, value);
    }

    /** The arguments after {@code runc [global options]}. */
    public List<String> args(String containerId) {
        List<String> a = new ArrayList<>(List.of("checkpoint", "--image-path", imagePath.toString(),
                "--work-path", workPath.toString()));
        if (parentPath != null) {
            // runc resolves --parent-path relative to the image path; CRIU wants it relative too.
            a.add("--parent-path");
            a.add(imagePath.relativize(parentPath).toString());
        }
        if (preDump) a.add("--pre-dump");
        if (leaveRunning && !preDump) a.add("--leave-running");
        if (tcpEstablished) a.add("--tcp-established");
        if (fileLocks) a.add("--file-locks");
        a.add(Objects.requireNonNull(containerId, "containerId"));
        return a;
    }

    static void requireAbsolute(Path p, String what) {
        Objects.requireNonNull(p, what);
        if (!p.isAbsolute()) throw new IllegalArgumentException(what + " must be absolute, got '" + p + "'");
    }
}
