package org.migrationmesh.agent.migration;

import org.migrationmesh.agent.runtime.Criu;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.LazyPagesDaemon;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A restore whose tasks run before their memory is in: CRIU restores with {@code --lazy-pages}
 * and its lazy-pages daemon fills the memory from the local image right after the tasks resume,
 * the pages they fault on first, then all the rest (10-15 ms for the game server's 20 MiB). The
 * copy of every page, CRIU's largest step of the restore, leaves the downtime.
 *
 * <p>The daemon reads the dump's process tree (inventory.img, pstree.img) as it starts, which
 * takes 6-14 ms here, and the rest of the image only when the restore connects. Started once
 * the final image is complete, it costs about what it saves (measured on the tour); started
 * while the image is on its way, its start-up takes the CPU from the image's transfer (6 ms
 * more of it). So it is started as the migration starts, from the process tree of the
 * container's last image this host restored ({@link #keepTree}): a container keeps its process
 * tree across migrations (CRIU restores the same pids) unless it forked or started threads. The
 * restore uses that daemon only if the final image's pstree.img holds the same bytes, linking
 * the image's other files beside it ({@link #take}); otherwise it starts one from the image.
 * Without a tree kept here the restore copies every page as usual.
 *
 * <p>Until the daemon has put the last page in, the container depends on it: the restore waits
 * for that before it answers (the source commits only then), and a daemon that fails ends the
 * migration, its restored copy removed, the source's resumed.
 */
final class ImagePagesAfterResume {
    private static final Logger log = LoggerFactory.getLogger(ImagePagesAfterResume.class);
    /** The image files the daemon reads as it starts; {@code pstree.img} decides whether an image matches. */
    static final String INVENTORY = "inventory.img";
    static final String PSTREE = "pstree.img";
    /** How long a restore waits for a daemon started ahead to listen before it starts its own. */
    private static final Duration AHEAD_WAIT = Duration.ofSeconds(5);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final Criu criu;
    private final Path trees;
    private final Executor executor;
    /** By migration: the decision made as it started, and the daemon started ahead if it was to restore lazily. */
    private final Map<String, Ahead> ahead = new ConcurrentHashMap<>();
    /** A migration whose restore copies every page (no process tree was kept of its container here). */
    private static final Ahead EAGER = new Ahead(null, null);
    /** A migration whose restore took its daemon. */
    private static final Ahead TAKEN = new Ahead(null, null);

    private record Ahead(Path images, CompletableFuture<LazyPagesDaemon> daemon) {
        void close() {
            if (daemon != null) daemon.thenAccept(LazyPagesDaemon::close);
        }
    }

    /** A daemon for a restore, listening; {@code startedAhead}: the one started as the migration started. */
    record Taken(LazyPagesDaemon daemon, boolean startedAhead) {}

    /** {@code trees}: where the process trees of the containers restored here are kept. */
    ImagePagesAfterResume(Criu criu, Path trees, Executor executor) {
        this.criu = criu;
        this.trees = trees;
        this.executor = executor;
    }

    /** Keeps the process tree of image {@code images} of container {@code containerId}, replacing the one kept before. */
    void keepTree(String containerId, Path images) {
        Path tree = trees.resolve(containerId);
        Path next = trees.resolve("." + containerId + "-" + UUID.randomUUID());
        try {
            Files.createDirectories(next);
            for (String f : List.of(INVENTORY, PSTREE)) Files.copy(images.resolve(f), next.resolve(f));
            Images.delete(tree);
            Files.move(next, tree, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.debug("process tree not kept container={} reason={}", containerId, e.toString());
            try {
                Images.delete(next);
            } catch (IOException ignored) {
                // a leftover of a few bytes
            }
        }
    }

    /** Forgets the process tree kept of container {@code containerId}. */
    void dropTree(String containerId) {
        try {
            Images.delete(trees.resolve(containerId));
        } catch (IOException e) {
            log.debug("process tree not removed container={} reason={}", containerId, e.toString());
        }
    }

    /**
     * Decides, once per migration, whether the restore of migration {@code migrationId} (of
     * container {@code containerId}) runs the tasks before their memory: yes if a process tree
     * of the container is kept here, and then a daemon starts from it in the background, in
     * {@code work}, the tree copied to {@code images}. Returns the decision (as first made).
     */
    boolean startAhead(String migrationId, String containerId, Path images, Path work) {
        return ahead.computeIfAbsent(migrationId, id -> {
            Path tree = trees.resolve(containerId);
            if (!Files.isRegularFile(tree.resolve(INVENTORY)) || !Files.isRegularFile(tree.resolve(PSTREE))) return EAGER;
            return new Ahead(images, CompletableFuture.supplyAsync(() -> {
                try {
                    Images.delete(images); // left by an earlier attempt
                    Files.createDirectories(images);
                    Images.link(tree, images, Set.of());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException("copying the process tree to " + images, e);
                }
                return LazyPagesDaemon.startLocal(criu, new ProcessCommandRunner(), containerId, images, work, READY_TIMEOUT);
            }, executor));
        }) != EAGER;
    }

    /** Whether the restore of migration {@code migrationId} was decided to run the tasks before their memory. */
    boolean lazy(String migrationId) {
        Ahead a = ahead.get(migrationId);
        return a != null && a != EAGER;
    }

    /**
     * The daemon for the restore of migration {@code migrationId} from the published image
     * {@code published}, listening in {@code work}: the one started ahead if it is alive and its
     * process tree is the image's (the image's other files are linked beside it then), else one
     * started now from the image.
     */
    Taken take(String migrationId, String containerId, Path published, Path work) {
        Ahead a = ahead.put(migrationId, TAKEN);
        if (a != null && a.daemon() != null) {
            String why;
            try {
                LazyPagesDaemon d = a.daemon().get(AHEAD_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                if (!d.isAlive()) {
                    why = "it exited";
                } else if (!Arrays.equals(Files.readAllBytes(a.images().resolve(PSTREE)),
                        Files.readAllBytes(published.resolve(PSTREE)))) {
                    d.close();
                    why = "the container's process tree changed since it was last restored here";
                } else {
                    Images.link(published, a.images(), Set.of(INVENTORY, PSTREE));
                    return new Taken(d, true);
                }
            } catch (Exception e) {
                if (e instanceof InterruptedException) Thread.currentThread().interrupt();
                a.close();
                why = e instanceof java.util.concurrent.ExecutionException ? e.getCause().getMessage() : e.toString();
            }
            log.info("lazy-pages daemon started ahead not used; starting one from the image migration={} reason={}",
                    migrationId, why);
        }
        return new Taken(LazyPagesDaemon.startLocal(criu, new ProcessCommandRunner(), containerId, published, work,
                READY_TIMEOUT), false);
    }

    /** Stops the daemon started ahead of migration {@code migrationId}'s restore, if its restore has not taken it. */
    void drop(String migrationId) {
        Ahead a = ahead.remove(migrationId);
        if (a != null) a.close();
    }

    /** Drops what was decided and started for every migration but those {@code keep} accepts. */
    void retain(Predicate<String> keep) {
        ahead.entrySet().removeIf(e -> {
            if (keep.test(e.getKey())) return false;
            e.getValue().close();
            return true;
        });
    }
}
