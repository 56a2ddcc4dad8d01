package org.migrationmesh.agent.migration;

import org.migrationmesh.agent.host.ContainerHost;
import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.MeshStateMachine;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.transfer.ImageReceiver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Removes what migrations that ended (or were cut short by a crash of this agent) left on this
 * host: their working and received-image directories, and a copy of a container that the
 * cluster says another agent owns (a restore that went ahead on this destination while its
 * migration aborted). It sweeps once the agent has caught up with the cluster after start-up
 * ({@link #sweepAfterCatchUp}) and again whenever a migration from or to this agent ends.
 */
public final class MigrationLeftovers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MigrationLeftovers.class);

    /**
     * What to remove, and what to keep first: of the received images of a migration that brought
     * a container here, its pages as the container's parent image ({@code keepAsParent}: migration
     * id to container id); parent images of containers the cluster no longer has go. Pure result
     * of {@link #plan}.
     */
    public record Plan(List<String> migrationDirs, List<String> foreignContainers, boolean liftNetworkLock,
                       Map<String, String> keepAsParent, List<String> staleParents, List<String> staleTmpfs) {
        public boolean isEmpty() {
            return migrationDirs.isEmpty() && foreignContainers.isEmpty() && !liftNetworkLock && staleParents.isEmpty()
                    && staleTmpfs.isEmpty();
        }
    }

    private final String self;
    private final ClusterNode node;
    private final ContainerHost host;
    private final ImageReceiver receiver;
    private final List<Path> dirRoots;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "migration-leftovers");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean caughtUp;
    /**
     * A container's tmpfs mounts that look stale go only if mounted at least this long ago: a
     * migration mounts them as it starts, and this replica may show it a little later.
     */
    static final java.time.Duration TMPFS_GRACE = java.time.Duration.ofSeconds(10);
    private final MeshStateMachine.AppliedListener listener = new MeshStateMachine.AppliedListener() {
        @Override
        public void onApplied(long index, Command command, CommandResult result) {
            if (!caughtUp || !result.getApplied()) return;
            String ended = command.hasAbortMigration() ? command.getAbortMigration().getMigrationId()
                    : command.hasAdvanceMigration() && command.getAdvanceMigration().getPhase() == MigrationPhase.COMMIT
                    ? command.getAdvanceMigration().getMigrationId() : null;
            if (ended == null) return;
            boolean involved = node.read(s -> s.migration(ended)
                    .map(m -> m.getSource().equals(self) || m.getDestination().equals(self)).orElse(false));
            if (involved) worker.execute(MigrationLeftovers.this::sweepQuietly);
        }

        @Override
        public void onReset(long index) {
            if (caughtUp) worker.execute(MigrationLeftovers.this::sweepQuietly);
        }
    };

    /**
     * @param dirRoots directories whose children are named by migration id (this agent's
     *                 migration work directories and its received images)
     */
    public MigrationLeftovers(String self, ClusterNode node, ContainerHost host, ImageReceiver receiver, List<Path> dirRoots) {
        this.self = self;
        this.node = node;
        this.host = host;
        this.receiver = receiver;
        this.dirRoots = List.copyOf(dirRoots);
        node.stateMachine().addListener(listener);
    }

    /**
     * Which leftovers to remove. Pure. A directory goes when the cluster knows its migration and
     * that migration is no longer pending (a directory named otherwise is not a migration's, and
     * stays). A container goes when the cluster gives it to another agent and no migration
     * moves it: this copy is the one that lost. CRIU's network lock goes with them when this agent
     * has no migration pending (a failed restore or a dump cut short leaves it in the namespace).
     */
    public static Plan plan(String self, Map<String, Migration> migrations, Map<String, Container> containers,
                            Collection<String> localDirs, Collection<ContainerState> local) {
        return plan(self, migrations, containers, localDirs, local, List.of());
    }

    /**
     * As {@link #plan(String, Map, Map, Collection, Collection)}, with the containers whose
     * parent image this host keeps ({@code parentImages}): a migration that committed with this
     * agent as its destination leaves its pages as the parent image of its container while the
     * container is still here (so that it, should it come back, sends only what changed), and the parent image of a
     * container the cluster no longer has goes.
     */
    public static Plan plan(String self, Map<String, Migration> migrations, Map<String, Container> containers,
                            Collection<String> localDirs, Collection<ContainerState> local, Collection<String> parentImages) {
        return plan(self, migrations, containers, localDirs, local, parentImages, List.of());
    }

    /**
     * As {@link #plan(String, Map, Map, Collection, Collection, Collection)}, with the containers
     * that have tmpfs mounts on this host ({@code tmpfsHeld}, see TmpfsMounts): those of a container
     * runc does not have here, that the cluster gives to no one here and that no pending migration
     * brings here or takes away go (e.g. made for a restore whose source gave up without telling).
     */
    public static Plan plan(String self, Map<String, Migration> migrations, Map<String, Container> containers,
                            Collection<String> localDirs, Collection<ContainerState> local, Collection<String> parentImages,
                            Collection<String> tmpfsHeld) {
        Set<String> dirs = new TreeSet<>();
        Map<String, String> keep = new java.util.TreeMap<>();
        for (String d : localDirs) {
            Migration m = migrations.get(d);
            if (m != null && m.getOutcome() != MigrationOutcome.OUTCOME_PENDING) dirs.add(d);
            // Only while the container is still here: once it left again (without a lazy dump), the dump
            // that took it away is its parent here, newer than these pages (MigrationRunner keeps it).
            Container brought = m == null ? null : containers.get(m.getContainerId());
            if (m != null && m.getOutcome() == MigrationOutcome.COMMITTED && m.getDestination().equals(self)
                    && brought != null && brought.getOwner().equals(self)) {
                keep.put(d, m.getContainerId());
            }
        }
        List<String> staleParents = parentImages.stream().filter(c -> !containers.containsKey(c)).sorted().toList();
        List<String> foreign = new ArrayList<>();
        for (ContainerState s : local) {
            Container c = containers.get(s.id());
            if (c != null && !c.getOwner().equals(self) && c.getMigrationId().isEmpty()) foreign.add(s.id());
        }
        Set<String> moving = new java.util.HashSet<>(); // by a migration pending to or from here
        for (Migration m : migrations.values()) {
            if (m.getOutcome() == MigrationOutcome.OUTCOME_PENDING && (m.getSource().equals(self) || m.getDestination().equals(self))) {
                moving.add(m.getContainerId());
            }
        }
        boolean lift = moving.isEmpty() && (!dirs.isEmpty() || !foreign.isEmpty());
        Set<String> runHere = new java.util.HashSet<>();
        for (ContainerState st : local) runHere.add(st.id());
        List<String> staleTmpfs = tmpfsHeld.stream().filter(id -> !runHere.contains(id) && !moving.contains(id)
                && (containers.get(id) == null || !containers.get(id).getOwner().equals(self))).sorted().toList();
        return new Plan(List.copyOf(dirs), List.copyOf(foreign), lift, keep, staleParents, staleTmpfs);
    }

    /**
     * Sweeps once this agent's replica has applied {@code index} (an entry it committed after
     * starting, so its view of migrations and owners is current), then on every migration's end.
     */
    public void sweepAfterCatchUp(long index) {
        worker.execute(() -> {
            if (!node.awaitApplied(index, java.time.Duration.ofSeconds(30))) {
                log.warn("replica has not applied index {} in 30 s; sweeping leftovers with what it has", index);
            }
            caughtUp = true;
            sweepQuietly();
        });
    }

    private void sweepQuietly() {
        try {
            sweep();
        } catch (RuntimeException e) {
            log.warn("could not remove the leftovers of ended migrations agent={} reason={}", self, e.getMessage());
        }
    }

    private void sweep() {
        List<String> localDirs = new ArrayList<>();
        for (Path root : dirRoots) {
            if (!Files.isDirectory(root)) continue;
            try (Stream<Path> children = Files.list(root)) {
                children.filter(Files::isDirectory).forEach(p -> localDirs.add(p.getFileName().toString()));
            } catch (IOException e) {
                log.warn("cannot list {}: {}", root, e.toString());
            }
        }
        List<ContainerState> local = host.runtime().runc().list();
        List<String> parents = receiver.parentImages();
        List<String> tmpfsHeld;
        try {
            tmpfsHeld = host.tmpfs().held();
        } catch (IOException e) {
            log.warn("cannot list the containers' tmpfs mounts agent={} reason={}", self, e.toString());
            tmpfsHeld = List.of();
        }
        List<String> held = tmpfsHeld;
        Plan plan = node.read(s -> plan(self, s.migrations(), s.containers(), localDirs, local, parents, held));
        if (plan.isEmpty()) return;
        plan.keepAsParent().forEach((id, container) -> {
            long t0 = System.nanoTime();
            try {
                long pages = receiver.keepAsParent(id, container);
                if (pages > 0) {
                    log.info("kept the pages of migration {} as the parent image of container {} pages={} ms={}", id, container,
                            pages, (System.nanoTime() - t0) / 1_000_000);
                }
            } catch (RuntimeException e) { // costs bytes when the container comes back, nothing more
                log.warn("could not keep the parent image of container {} from migration {}: {}", container, id, e.toString());
            }
        });
        plan.staleParents().forEach(receiver::dropParentImage);
        for (String id : plan.foreignContainers()) {
            host.runtime().runc().delete(id, true);
            host.releaseTmpfs(id);
            log.warn("deleted a copy of container {} left by a migration: the cluster gives it to another agent", id);
        }
        // Decided from this replica's view, which may not show yet a migration that has just
        // mounted them (its restore would fail): only mounts older than that go, the others are
        // looked at again once they are.
        List<String> tmpfsReleased = new ArrayList<>(), tmpfsKept = new ArrayList<>();
        for (String id : plan.staleTmpfs()) (host.releaseTmpfsIfOlder(id, TMPFS_GRACE) ? tmpfsReleased : tmpfsKept).add(id);
        if (!tmpfsKept.isEmpty()) {
            CompletableFuture.delayedExecutor(TMPFS_GRACE.toMillis(), TimeUnit.MILLISECONDS)
                    .execute(() -> {
                        try {
                            worker.execute(this::sweepQuietly);
                        } catch (RejectedExecutionException closed) {
                            // the agent stopped meanwhile; its next start sweeps
                        }
                    });
        }
        for (String id : plan.migrationDirs()) {
            receiver.discard(id);
            for (Path root : dirRoots) {
                try {
                    Images.delete(root.resolve(id));
                } catch (IOException e) {
                    log.warn("could not remove {}: {}", root.resolve(id), e.toString());
                }
            }
        }
        List<String> lifted = plan.liftNetworkLock() ? host.runtime().networkLock().remove(host.settings().netns()) : List.of();
        if (!plan.migrationDirs().isEmpty() || !plan.foreignContainers().isEmpty()) {
            // An address a migration claimed here ahead of its restore goes with the migration's other
            // leftovers, now that this replica knows how it ended, not at the next reconcile round
            // (one ran at start-up, while the replica still saw the migration pending).
            try {
                host.floatingIps().reconcileNow();
            } catch (RuntimeException e) {
                log.warn("could not reconcile floating IPs after removing leftovers agent={} reason={}", self, e.getMessage());
            }
        }
        log.info("removed leftovers of ended migrations agent={} dirs={} containers={} networkLock={} parentImagesDropped={}"
                + " tmpfsReleased={} tmpfsMountedJustNow={}", self, plan.migrationDirs(), plan.foreignContainers(), lifted,
                plan.staleParents(), tmpfsReleased, tmpfsKept);
    }

    @Override
    public void close() {
        node.stateMachine().removeListener(listener);
        worker.shutdownNow();
    }
}
