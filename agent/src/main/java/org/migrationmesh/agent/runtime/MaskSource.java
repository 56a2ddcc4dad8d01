package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;

/**
 * The empty, read-only file system that stands for runc's masked directories in a restored
 * container ({@link CriuConfig}): a tmpfs mounted read-only, one per mount namespace, shared by
 * every agent in it. Read-only as a file system, not only as a mount: a bind of it stays
 * read-only whatever the bind's own flags say, which matters because CRIU restores the second
 * of two binds of one file system without the read-only flag the dump recorded. Mounted when
 * first needed and left mounted (the next agent, or the next run, takes it as it is; an agent
 * in a mount namespace of its own, as {@code ip netns exec} gives it, loses it with the namespace).
 */
public final class MaskSource {
    /** Where it is mounted. */
    public static final Path DEFAULT = Path.of("/run/migration-mesh/masked");

    private MaskSource() {}

    /** Mounts the read-only empty tmpfs at {@code dir} unless it is there already; returns {@code dir}. */
    public static Path ensure(Path dir, CommandRunner runner) throws IOException {
        if (mountedHere(dir)) return dir;
        Files.createDirectories(dir);
        try (FileChannel lock = FileChannel.open(dir.resolveSibling(dir.getFileName() + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock held = lock.lock()) {
            if (mountedHere(dir)) return dir; // another agent did
            // the directory under the mount: nobody writes there either, should the mount ever be gone
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
            CommandRunner.Execution e = runner.run(Command.of(Duration.ofSeconds(10), List.of("mount", "-t", "tmpfs", "-o",
                    "ro,nosuid,nodev,noexec,size=4k,nr_inodes=2,mode=0555", "migration-mesh-masked", dir.toString())));
            if (!e.succeeded()) {
                throw new IOException("mounting the empty read-only tmpfs for masked directories at " + dir + " failed: "
                        + e.stderr().strip());
            }
        }
        if (!mountedHere(dir)) {
            throw new IOException("no read-only tmpfs at " + dir + " after mounting one");
        }
        return dir;
    }

    /** Whether this process's mount namespace has the read-only tmpfs at {@code dir} now. */
    private static boolean mountedHere(Path dir) throws IOException {
        return mountedReadOnlyTmpfs(Files.readString(Path.of("/proc/self/mountinfo")), dir);
    }

    /**
     * Whether {@code mountinfo} (as /proc/self/mountinfo) shows, as the topmost mount at
     * {@code dir}, a tmpfs whose file system is read-only. Pure.
     */
    static boolean mountedReadOnlyTmpfs(String mountinfo, Path dir) {
        boolean found = false;
        for (MountTable.Mount m : MountTable.parse(mountinfo)) {
            if (!m.point().equals(dir.toString()) || m.type().isEmpty()) continue;
            // a later line at the same place is mounted over the earlier ones
            found = m.type().equals("tmpfs") && m.superOptions().contains("ro");
        }
        return found;
    }
}
