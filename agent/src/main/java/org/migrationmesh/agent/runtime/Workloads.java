package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The static test workloads built with the agent ({@code tickserver}, {@code memhog},
 * {@code mmprobe}) and a minimal rootfs that holds one of them.
 */
public final class Workloads {
    public static final List<String> NAMES = List.of("tickserver", "memhog", "mmprobe", "mmdelay", "mmfreeze", "mmcriu", "mmtar", "mmhold", "mmpages");

    private Workloads() {}

    /** Copies workload {@code name} out of the agent's jar to {@code target}, executable. */
    public static Path extract(String name, Path target) throws IOException {
        if (!NAMES.contains(name)) throw new IllegalArgumentException("unknown workload '" + name + "', known: " + NAMES);
        try (InputStream in = Workloads.class.getResourceAsStream("/workloads/" + name)) {
            if (in == null) {
                throw new IOException("workload '" + name + "' is not in the agent's classpath; build with mvn package");
            }
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return target;
    }

    /**
     * Makes {@code bundle/rootfs} with the workload as {@code /bin/NAME} and empty mount
     * points, and writes {@code bundle/config.json} from {@code spec}.
     */
    public static Path bundle(Path bundle, String name, BundleSpec spec) throws IOException {
        Path rootfs = bundle.resolve("rootfs");
        for (String dir : List.of("bin", "proc", "dev", "sys", "tmp", "etc")) Files.createDirectories(rootfs.resolve(dir));
        extract(name, rootfs.resolve("bin").resolve(name));
        BundleWriter.write(bundle, spec);
        return bundle;
    }
}
