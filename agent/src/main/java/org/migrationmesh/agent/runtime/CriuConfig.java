package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

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
 * <p>{@code manage-cgroups=ignore}, always (with "=": CRIU turns a line "key value" into two
 * arguments, and this option's value is optional, so "manage-cgroups ignore" meant soft mode):
 * CRIU neither dumps the properties of the container's cgroups while it is frozen nor prepares
 * a cgroup yard and moves the tasks on restore. runc does that part itself: it puts CRIU into
 * the container's cgroup path from the bundle, with the bundle's limits, before the restore,
 * so the restored tasks land there (and a restore into another host's cgroup path needs
 * nothing from the image).
 *
 * <p>With {@code emptyDir}, the directories runc masks ({@link BundleWriter#MASKED_DIRECTORIES}:
 * an empty read-only tmpfs each) are external mounts: a dump names them by a key instead of
 * archiving them, and a restore binds {@code emptyDir} (empty, read-only) there. runc does so
 * for the masked files (bound to /dev/null) but not for directories, and CRIU archives each
 * tmpfs with a {@code tar | gzip} of its own while the container is frozen: ~10-20 ms each on
 * this machine when busy, for two empty directories, and one {@code tar} each again on restore.
 * Both forms are in the file, so that it serves a dump and a restore alike (a rollback restores
 * on the source with the file its dump used).
 *
 * @param actionScript CRIU's action script (the agent's {@code mmfreeze}), or null
 * @param networkLock  whether CRIU locks (and unlocks) the network namespace
 * @param emptyDir     an empty directory to stand for the masked ones on restore, or null to archive them
 */
public record CriuConfig(Path actionScript, boolean networkLock, Path emptyDir) {
    public CriuConfig(Path actionScript, boolean networkLock) {
        this(actionScript, networkLock, null);
    }

    /** The file's text. Pure. */
    public String text() {
        StringBuilder s = new StringBuilder("# written by migration-mesh before each dump and restore\n");
        if (actionScript != null) s.append("action-script ").append(actionScript).append('\n');
        if (!networkLock) s.append("network-lock skip\n");
        s.append("manage-cgroups=ignore\n"); // "key value" would leave the optional value out: soft
        if (emptyDir != null) {
            for (String dir : BundleWriter.MASKED_DIRECTORIES) {
                String key = maskKey(dir);
                s.append("external mnt[").append(dir).append("]:").append(key).append('\n'); // dump
                s.append("external mnt[").append(key).append("]:").append(emptyDir).append('\n'); // restore
            }
        }
        return s.toString();
    }

    /** The file the action script creates in CRIU's work directory once a dump's images are complete ("post-dump"). */
    public static final String IMAGES_WRITTEN = "images-written";
    /** The file the action script creates in CRIU's work directory once it has frozen the container ("pre-dump"). */
    public static final String FROZEN = "frozen";

    /**
     * Starts a daemon thread that calls each action once its file ({@link #FROZEN},
     * {@link #IMAGES_WRITTEN}) appears in {@code workDir}, in the order given, a later file
     * calling the earlier actions first (complete images were dumped from frozen tasks); looked
     * for every half millisecond (a dump freezes for ~50 ms), until all were called or it is
     * interrupted. Files left from before are removed first.
     */
    static Thread watchMarkers(Path workDir, java.util.LinkedHashMap<String, Runnable> actions) {
        List<Path> markers = new java.util.ArrayList<>();
        try {
            for (String name : actions.keySet()) {
                Path marker = workDir.resolve(name);
                Files.deleteIfExists(marker);
                markers.add(marker);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("removing a marker left in " + workDir + " from an earlier dump", e);
        }
        List<Runnable> then = List.copyOf(actions.values());
        Thread t = new Thread(() -> {
            int next = 0;
            while (next < markers.size() && !Thread.currentThread().isInterrupted()) {
                int seen = -1; // a later file stands for the earlier ones too (images written: frozen)
                for (int k = markers.size() - 1; k >= next && seen < 0; k--) if (Files.exists(markers.get(k))) seen = k;
                if (seen < 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(500_000);
                    continue;
                }
                while (next <= seen) then.get(next++).run();
            }
        }, "criu-markers-" + workDir.getFileName());
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The key a masked directory's mount goes by in an image. */
    static String maskKey(String dir) {
        return "mm-mask" + dir.replace('/', '-');
    }

    /** Writes {@link #text()} to {@code file}, replacing it atomically (a concurrent CRIU reads the old or the new). */
    public void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
