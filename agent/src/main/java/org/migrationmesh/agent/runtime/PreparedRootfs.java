package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A rootfs prepared ahead of time at the same absolute path on every host (as a pulled image
 * would be; e.g. scripts/build-openarena-rootfs.sh), that containers share read-only: the bundle
 * holds only config.json, whose root.path points at the directory, and writable state goes to
 * the container's tmpfs /tmp. A restore on another host finds the same files at the same path.
 */
public final class PreparedRootfs {
    private PreparedRootfs() {}

    /** What is wrong with {@code dir} as a rootfs on this host, or empty if it looks usable. */
    public static Optional<String> problem(Path dir) {
        if (!dir.isAbsolute()) return Optional.of("rootfs " + dir + " is not an absolute path");
        if (!Files.exists(dir)) return Optional.of("rootfs " + dir + " does not exist on this host");
        if (!Files.isDirectory(dir)) return Optional.of("rootfs " + dir + " is not a directory");
        if (!Files.isDirectory(dir.resolve("usr")) && !Files.isDirectory(dir.resolve("bin"))) {
            return Optional.of("rootfs " + dir + " has neither /usr nor /bin: not a root filesystem");
        }
        return Optional.empty();
    }

    /**
     * Writes {@code bundle/config.json} for a container rooted at {@code rootfs} (read-only).
     *
     * @throws RuntimeFailure (phase {@link Phase#BUNDLE}) if {@code rootfs} is missing on this host
     */
    public static Path bundle(String containerId, Path bundle, Path rootfs, BundleSpec spec) throws IOException {
        problem(rootfs).ifPresent(p -> {
            throw new RuntimeFailure(containerId, Phase.BUNDLE, p + " (prepare it on every host first)");
        });
        BundleWriter.write(bundle, spec.withRootfs(rootfs));
        return bundle;
    }
}
