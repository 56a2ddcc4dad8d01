package org.migrationmesh.ipfloat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The project's static C test workloads (tickserver, mmprobe), built once per JVM with make. */
final class TestPrograms {
    private static Path bin;

    private TestPrograms() {
    }

    static synchronized Path bin() {
        if (bin == null) {
            Path here = Path.of("").toAbsolutePath();
            Path source = here.resolve("agent/src/main/c");
            if (!Files.isDirectory(source)) {
                source = here.resolveSibling("agent/src/main/c");
            }
            if (!Files.isDirectory(source)) {
                throw new IllegalStateException("cannot find agent/src/main/c from " + here);
            }
            Path out = source.getParent().getParent().getParent().getParent().resolve("ipfloat/target/c-bin");
            CommandRunner.run(List.of("make", "-s", "-C", source.toString(), "OUT=" + out), Duration.ofMinutes(2));
            bin = out;
        }
        return bin;
    }

    static String tickserver() {
        return bin().resolve("tickserver").toString();
    }

    static String mmprobe() {
        return bin().resolve("mmprobe").toString();
    }
}
