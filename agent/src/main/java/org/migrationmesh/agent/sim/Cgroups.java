package org.migrationmesh.agent.sim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Removes cgroup directories that simulated hosts leave behind: runc deletes a container's own
 * cgroups, not the parents the hosts' cgroup paths created. Works on cgroup v1 controllers and
 * the unified (v2) hierarchy alike; directories that still hold processes stay.
 */
public final class Cgroups {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    private Cgroups() {}

    /** Removes {@code path} (e.g. /mm-xyz) and everything below it in every hierarchy; best effort. */
    public static void removeTree(String path) {
        String relative = path.startsWith("/") ? path.substring(1) : path;
        if (relative.isEmpty()) throw new IllegalArgumentException("refusing to remove the cgroup root");
        try (Stream<Path> hierarchies = Files.list(ROOT)) {
            for (Path h : hierarchies.toList()) {
                for (Path top : List.of(h.resolve(relative), h.resolve("unified").resolve(relative))) {
                    if (!Files.isDirectory(top) || !top.startsWith(ROOT)) continue;
                    try (Stream<Path> walk = Files.walk(top)) {
                        // cgroupfs directories are removed with rmdir, deepest first; their files go with them.
                        walk.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).forEach(d -> d.toFile().delete());
                    }
                }
            }
        } catch (IOException e) {
            // Empty leftovers do not disturb later runs: every run uses names of its own.
        }
    }
}
