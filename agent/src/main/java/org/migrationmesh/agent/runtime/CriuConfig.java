package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The CRIU configuration file a container's bundle names (runc's {@code org.criu.config}
 * annotation): CRIU reads it on every dump and restore of that container, after runc's own
 * settings, so the agent rewrites it before each one.
 *
 * <p>{@code networkLock} false writes {@code network-lock skip}. CRIU's default lock (an
 * iptables chain dropping all traffic of the namespace, added and removed by spawning
 * {@code iptables-restore}) keeps peers of dumped TCP sockets from getting resets while the
 * sockets are gone; measured here it costs ~23 ms of the freeze on dump and ~50-66 ms on
 * restore, where CRIU only removes a lock that was never set in a namespace it joined. A dump
 * without TCP sockets and every restore into an existing namespace need none of it.
 *
 * @param actionScript CRIU's action script (the agent's {@code mmfreeze}), or null
 * @param networkLock  whether CRIU locks (and unlocks) the network namespace
 */
public record CriuConfig(Path actionScript, boolean networkLock) {
    /** The file's text. Pure. */
    public String text() {
        StringBuilder s = new StringBuilder("# written by migration-mesh before each dump and restore\n");
        if (actionScript != null) s.append("action-script ").append(actionScript).append('\n');
        if (!networkLock) s.append("network-lock skip\n");
        return s.toString();
    }

    /** Writes {@link #text()} to {@code file}, replacing it atomically (a concurrent CRIU reads the old or the new). */
    public void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
