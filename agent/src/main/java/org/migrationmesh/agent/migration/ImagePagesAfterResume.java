package org.migrationmesh.agent.migration;

import org.migrationmesh.agent.runtime.Criu;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.LazyPagesDaemon;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.transfer.PagemapImage;
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

    /**
     * A daemon for a restore, listening; {@code startedAhead}: the one started as the migration
     * started, which reads the image from {@code images} (links to the published image's files).
     */
    record Taken(LazyPagesDaemon daemon, boolean startedAhead, Path images) {}

    /** Per container: the pages its last lazy restore here faulted on, per task of the image (see {@link #prefetch}). */
    private final Map<String, Map<String, long[]>> faulted = new ConcurrentHashMap<>();
    /** The most pages a restore copies in before the resume on the strength of earlier restores' faults (4 MiB). */
    static final int MOST_PREFETCHED = 1024;

    /**
     * Remembers the pages container {@code containerId}'s lazy restore faulted on (the daemon's
     * account, first fault first), for its next, added to those remembered before: pages copied in
     * before the resume fault no more, and a set made of the last faults alone would leave them out
     * of the restore after. At most {@link #MOST_PREFETCHED} per task, the earliest faults first.
     */
    void rememberFaults(String containerId, Map<String, long[]> pages) {
        faulted.compute(containerId, (id, before) -> {
            Map<String, long[]> out = new java.util.HashMap<>();
            Set<String> tasks = new java.util.HashSet<>(pages.keySet());
            if (before != null) tasks.addAll(before.keySet());
            for (String task : tasks) {
                java.util.LinkedHashSet<Long> all = new java.util.LinkedHashSet<>();
                for (long[] source : new long[][] {before == null ? null : before.get(task), pages.get(task)}) {
                    if (source == null) continue;
                    for (long p : source) if (all.size() < MOST_PREFETCHED) all.add(p);
                }
                if (!all.isEmpty()) out.put(task, all.stream().mapToLong(Long::longValue).toArray());
            }
            return out.isEmpty() ? null : Map.copyOf(out);
        });
    }

    /**
     * Has the restore of container {@code containerId} copy in before the tasks resume the pages
     * its last lazy restore here faulted on (measured on the tour's game server: 90-100 % of the
     * pages a restore faults on in its first 5 ms are among those the one before faulted on): each
     * {@code pagemap-*.img} of {@code published} with such pages is written, those pages no longer
     * flagged lazy ({@link PagemapImage#withEager}), into every directory of {@code dirs} in place of
     * its link there. The daemon and the restore must read the same pagemap: all of them or none
     * (the published file itself stays as it is: its content is indexed). Returns the pages so
     * flagged, 0 if none.
     */
    int prefetch(String containerId, Path published, List<Path> dirs) {
        Map<String, long[]> pages = faulted.get(containerId);
        if (pages == null) return 0;
        Map<String, byte[]> rewritten = new java.util.LinkedHashMap<>();
        int eager = 0;
        try {
            for (Map.Entry<String, long[]> e : pages.entrySet()) {
                String name = "pagemap-" + e.getKey() + ".img";
                Path file = published.resolve(name);
                if (!Files.exists(file)) continue; // (rememberFaults keeps at most MOST_PREFETCHED)
                Set<Long> wanted = new java.util.HashSet<>(e.getValue().length * 2);
                for (long p : e.getValue()) wanted.add(p);
                PagemapImage before = PagemapImage.parse(Files.readAllBytes(file));
                int[] count = {0};
                PagemapImage after = before.withEager(a -> {
                    boolean w = wanted.contains(a);
                    if (w) count[0]++;
                    return w;
                });
                if (count[0] == 0) continue;
                rewritten.put(name, after.encode());
                eager += count[0];
            }
            if (rewritten.isEmpty()) return 0;
            for (Path dir : dirs) {
                for (Map.Entry<String, byte[]> r : rewritten.entrySet()) {
                    Files.write(dir.resolve(r.getKey() + ".eager"), r.getValue());
                }
            }
        } catch (IOException | RuntimeException e) {
            for (Path dir : dirs) rewritten.keySet().forEach(n -> deleteQuietly(dir.resolve(n + ".eager")));
            log.warn("could not flag the pages the last restore faulted on; the daemon serves them all container={} reason={}",
                    containerId, e.toString());
            return 0;
        }
        try {
            for (Path dir : dirs) {
                for (String n : rewritten.keySet()) {
                    Files.move(dir.resolve(n + ".eager"), dir.resolve(n), StandardCopyOption.REPLACE_EXISTING,
                            StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } catch (IOException e) {
            putBack(published, dirs, rewritten.keySet()); // all or none
            log.warn("could not flag the pages the last restore faulted on container={} reason={}", containerId, e.toString());
            return 0;
        }
        return eager;
    }

    /** Links the published image's files {@code names} into every directory of {@code dirs} again, in place of what is there. */
    private static void putBack(Path published, List<Path> dirs, Set<String> names) {
        for (Path d : dirs) {
            for (String n : names) {
                deleteQuietly(d.resolve(n + ".eager"));
                try {
                    Files.deleteIfExists(d.resolve(n));
                    Files.createLink(d.resolve(n), published.resolve(n));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException("putting " + n + " back in " + d, e);
                }
            }
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover file in a migration's own directory, removed with it
        }
    }

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
                    return new Taken(d, true, a.images());
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
                READY_TIMEOUT), false, published);
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
