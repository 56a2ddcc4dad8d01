package org.migrationmesh.agent.sim;

import java.nio.file.Files;
import java.nio.file.Path;

/** Files of this repository the simulations need (scripts), found from wherever they run: the top or a module. */
public final class Repository {
    private Repository() {}

    /** {@code relative} in the first directory at or above the working directory that has it. */
    public static Path file(String relative) {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve(relative))) return d.resolve(relative);
        }
        throw new IllegalStateException("no " + relative + " at or above " + Path.of("").toAbsolutePath()
                + "; run from the repository");
    }
}
