package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/**
 * A container's freezer cgroup, frozen by the agent right before a final dump. CRIU freezes
 * the cgroup itself otherwise, but checks whether it is frozen only every 100 ms (criu/seize.c,
 * {@code freeze_processes}): a cgroup that freezes in a millisecond still costs the dump, and
 * so the downtime, about 100 ms. A cgroup already frozen when CRIU starts is seized at once;
 * CRIU thaws it once the tasks are seized and, if the dump fails or leaves the tasks running,
 * puts it back frozen, which {@link #thaw()} undoes. Both hierarchies: the v1 freezer
 * controller ({@code freezer.state}) and cgroup v2 ({@code cgroup.freeze}).
 */
final class CgroupFreezer {
    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    private static final long POLL_NANOS = 200_000;

    /** Where a process's freezer is: its cgroup directory and which hierarchy it belongs to. */
    record Location(Path directory, boolean v1) {
        Path control() {
            return directory.resolve(v1 ? "freezer.state" : "cgroup.freeze");
        }
    }

    private final String containerId;
    private final Location location;

    private CgroupFreezer(String containerId, Location location) {
        this.containerId = containerId;
        this.location = location;
    }

    /**
     * Freezes the freezer cgroup of process {@code pid} (the container's init) and waits until
     * the kernel reports it frozen; empty if that process has no freezer cgroup.
     *
     * @throws RuntimeFailure if the cgroup does not freeze within {@code timeout} (it is thawed again)
     */
    static Optional<CgroupFreezer> freeze(String containerId, int pid, Duration timeout) {
        Optional<CgroupFreezer> found = locate(containerId, pid); // empty if the process is gone: the dump will say so
        found.ifPresent(f -> f.freezeAndWait(timeout));
        return found;
    }

    private void freezeAndWait(Duration timeout) {
        write(location.v1() ? "FROZEN" : "1");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!frozen()) {
            if (System.nanoTime() > deadline) {
                thaw();
                throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "cgroup " + location.directory()
                        + " did not freeze within " + timeout);
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
    }

    /**
     * The freezer cgroup of process {@code pid}, not frozen: for {@link #thaw()} after a dump
     * whose CRIU action script froze it; empty if the process has no freezer cgroup.
     */
    static Optional<CgroupFreezer> locate(String containerId, int pid) {
        try {
            return locate(CGROUP_ROOT, Files.readAllLines(Path.of("/proc", Integer.toString(pid), "cgroup")))
                    .filter(l -> Files.isRegularFile(l.control())).map(l -> new CgroupFreezer(containerId, l));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The freezer of a process, from the lines of its /proc/PID/cgroup: the v1 freezer
     * controller's line ({@code N:freezer:PATH}, under {@code root/freezer}) if there is one,
     * as runc and CRIU then use it, else the v2 line ({@code 0::PATH}, under {@code root}, or
     * {@code root/unified} on a hybrid host that mounts cgroup2 there). Pure.
     */
    static Optional<Location> locate(Path root, List<String> procCgroupLines) {
        String unified = null;
        boolean hybrid = false;
        for (String line : procCgroupLines) {
            String[] f = line.strip().split(":", 3);
            if (f.length < 3 || !f[2].startsWith("/")) continue;
            if (f[0].equals("0") && f[1].isEmpty()) {
                unified = f[2];
            } else {
                hybrid = true;
                for (String controller : f[1].split(",")) {
                    if (controller.equals("freezer")) return Optional.of(new Location(under(root.resolve("freezer"), f[2]), true));
                }
            }
        }
        if (unified == null) return Optional.empty();
        return Optional.of(new Location(under(hybrid ? root.resolve("unified") : root, unified), false));
    }

    private static Path under(Path mount, String cgroupPath) {
        return cgroupPath.equals("/") ? mount : mount.resolve(cgroupPath.substring(1));
    }

    /** Whether the freezer's state file says frozen: v1 {@code freezer.state}, v2 {@code cgroup.events}. Pure. */
    static boolean frozen(String stateFile, boolean v1) {
        if (v1) return stateFile.strip().equals("FROZEN");
        for (String line : stateFile.split("\n")) {
            if (line.strip().equals("frozen 1")) return true;
        }
        return false;
    }

    /** Thaws the cgroup if it still exists (after a dump that ended the container it does not). */
    void thaw() {
        try {
            Files.writeString(location.control(), location.v1() ? "THAWED" : "0");
        } catch (NoSuchFileException e) {
            // the container is gone with its cgroup
        } catch (IOException e) {
            if (Files.isDirectory(location.directory())) {
                throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "cannot thaw cgroup " + location.directory() + ": "
                        + e.getMessage(), e);
            }
        }
    }

    @Override
    public String toString() {
        return location.directory().toString();
    }

    private boolean frozen() {
        Path state = location.directory().resolve(location.v1() ? "freezer.state" : "cgroup.events");
        try {
            return frozen(Files.readString(state), location.v1());
        } catch (IOException e) {
            throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "cannot read " + state + ": " + e.getMessage(), e);
        }
    }

    private void write(String value) {
        try {
            Files.writeString(location.control(), value);
        } catch (IOException e) {
            throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "cannot freeze cgroup " + location.directory() + ": "
                    + e.getMessage(), e);
        }
    }
}
