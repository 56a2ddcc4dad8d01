package org.migrationmesh.agent.daemon;

import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.cluster.ClusterClient;
import org.migrationmesh.cluster.Commands;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.control.ContainerStatusRequest;
import org.migrationmesh.proto.control.ListContainersRequest;
import org.migrationmesh.proto.control.MigrateReply;
import org.migrationmesh.proto.control.MigrateRequest;
import org.migrationmesh.proto.control.MigrationProgress;
import org.migrationmesh.proto.control.RunContainerRequest;
import org.migrationmesh.proto.control.WatchMigrationRequest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Three agents as separate JVMs on loopback; these tests leave all three running. */
class ClusterAgentsIT {
    @TempDir
    static Path dir;
    static LocalCluster cluster;

    @BeforeAll
    static void startThreeAgents() throws Exception {
        cluster = LocalCluster.start(3, dir);
        cluster.awaitLeader(Duration.ofSeconds(60));
        // Every agent has joined the member table.
        cluster.await(Duration.ofSeconds(60), "all three members joined", () ->
                cluster.ids().stream().allMatch(id -> cluster.status(id).map(s -> s.getMembersCount() == 3).orElse(false))
                        ? true : null);
    }

    @AfterAll
    static void stopAgents() {
        if (cluster != null) cluster.close();
    }

    private static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static Optional<Container> containerOn(String agent, String containerId) {
        try {
            return cluster.control(agent).listContainers(ListContainersRequest.getDefaultInstance()).getContainersList()
                    .stream().filter(c -> c.getId().equals(containerId)).findFirst();
        } catch (StatusRuntimeException e) {
            return Optional.empty();
        }
    }

    @Test
    void aCommandAcceptedByAFollowerIsAppliedEverywhere() {
        String leader = cluster.awaitLeader(Duration.ofSeconds(30));
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        String id = unique("web");

        Container c = cluster.control(follower).runContainer(RunContainerRequest.newBuilder().setContainerId(id)
                .setBundleDigest("sha256:abc").setFloatingIp("10.77." + (id.hashCode() & 0xff) + ".1").build())
                .getContainer();

        assertThat(c.getOwner()).as("owner defaults to the agent asked").isEqualTo(follower);
        assertThat(c.getState()).isEqualTo(ContainerState.RUNNING);
        for (String agent : cluster.ids()) {
            Container seen = cluster.await(Duration.ofSeconds(30), id + " applied on " + agent,
                    () -> containerOn(agent, id).orElse(null));
            assertThat(seen).as("replica on " + agent).isEqualTo(c);
        }
    }

    @Test
    void twoConcurrentMigrationsOfOneContainerExactlyOneWins() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 5; round++) {
                String id = unique("race");
                cluster.control("a1").runContainer(RunContainerRequest.newBuilder().setContainerId(id)
                        .setBundleDigest("sha256:race").build());
                CountDownLatch go = new CountDownLatch(1);
                List<Future<MigrateReply>> calls = new ArrayList<>();
                // Asked of two different agents, towards two different destinations.
                calls.add(pool.submit(() -> {
                    go.await();
                    return cluster.control("a2").migrate(MigrateRequest.newBuilder().setContainerId(id)
                            .setDestination("a2").build());
                }));
                calls.add(pool.submit(() -> {
                    go.await();
                    return cluster.control("a3").migrate(MigrateRequest.newBuilder().setContainerId(id)
                            .setDestination("a3").build());
                }));
                go.countDown();
                int won = 0;
                List<String> refusals = new ArrayList<>();
                for (Future<MigrateReply> f : calls) {
                    try {
                        f.get(60, TimeUnit.SECONDS);
                        won++;
                    } catch (java.util.concurrent.ExecutionException e) {
                        assertThat(e.getCause()).isInstanceOf(StatusRuntimeException.class);
                        refusals.add(((StatusRuntimeException) e.getCause()).getStatus().toString());
                    }
                }
                assertThat(won).as("exactly one of two concurrent migrations wins; refusals: " + refusals).isEqualTo(1);
                assertThat(refusals).singleElement().asString().contains("FAILED_PRECONDITION")
                        .contains("already migrating").contains(id);
                // a1 answers from its own replica, which may apply the winning entry a moment later.
                var request = ContainerStatusRequest.newBuilder().setContainerId(id).build();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                var status = cluster.control("a1").containerStatus(request);
                while (status.getContainer().getMigrationId().isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                    status = cluster.control("a1").containerStatus(request);
                }
                assertThat(status.getContainer().getMigrationId()).isNotEmpty().isEqualTo(status.getMigration().getId());
                assertThat(status.getMigration().getPhase()).isEqualTo(MigrationPhase.PREPARE);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void migrationProgressIsStreamedUntilCommitAndOwnershipMovesWithTheIp() throws Exception {
        String id = unique("mig");
        String ip = "10.78." + (id.hashCode() & 0xff) + ".1";
        cluster.control("a1").runContainer(RunContainerRequest.newBuilder().setContainerId(id)
                .setBundleDigest("sha256:m").setOwner("a1").setFloatingIp(ip).build());
        Migration started = cluster.control("a3").migrate(MigrateRequest.newBuilder().setContainerId(id)
                .setDestination("a2").build()).getMigration();
        assertThat(started.getSource()).isEqualTo("a1");

        // Watch from the agent that is neither source nor destination.
        CompletableFuture<List<MigrationProgress>> watched = CompletableFuture.supplyAsync(() -> {
            List<MigrationProgress> seen = new ArrayList<>();
            Iterator<MigrationProgress> it = cluster.control("a3").withDeadlineAfter(120, TimeUnit.SECONDS)
                    .watchMigration(WatchMigrationRequest.newBuilder().setMigrationId(started.getId()).build());
            it.forEachRemaining(seen::add);
            return seen;
        });
        // The data plane (a later issue) will send these; here the test drives the phases through Raft.
        try (ClusterClient raft = cluster.raftClient()) {
            long token = started.getEpoch();
            raft.submit(Commands.copyRound(started.getId(), token, 4096, 1));
            raft.submit(Commands.advance(started.getId(), MigrationPhase.FREEZE, token));
            raft.submit(Commands.advance(started.getId(), MigrationPhase.RESTORE, token));
            raft.submit(Commands.advance(started.getId(), MigrationPhase.COMMIT, token));
        }
        List<MigrationProgress> seen = watched.get(120, TimeUnit.SECONDS);
        assertThat(seen).isNotEmpty();
        assertThat(seen.get(seen.size() - 1).getMigration().getOutcome()).isEqualTo(MigrationOutcome.COMMITTED);
        assertThat(seen.stream().map(p -> p.getMigration().getPhase()).distinct().toList())
                .as("phases in order (the watch may coalesce entries applied before it started)")
                .isSubsetOf(MigrationPhase.PREPARE, MigrationPhase.COPY, MigrationPhase.FREEZE, MigrationPhase.RESTORE,
                        MigrationPhase.COMMIT)
                .endsWith(MigrationPhase.COMMIT);
        assertThat(seen).extracting(MigrationProgress::getLogIndex).isSorted();

        for (String agent : cluster.ids()) {
            Container c = cluster.await(Duration.ofSeconds(30), "commit applied on " + agent,
                    () -> containerOn(agent, id).filter(x -> x.getOwner().equals("a2")).orElse(null));
            assertThat(c.getEpoch()).isEqualTo(started.getEpoch() + 1);
            assertThat(c.getMigrationId()).isEmpty();
        }
    }
}
