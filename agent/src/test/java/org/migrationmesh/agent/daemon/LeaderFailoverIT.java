package org.migrationmesh.agent.daemon;

import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.control.ClusterStatusReply;
import org.migrationmesh.proto.control.ListContainersRequest;
import org.migrationmesh.proto.control.RunContainerRequest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** kill -9 of the leader: a new leader serves, nothing committed is lost, the killed agent catches up. */
class LeaderFailoverIT {
    @TempDir
    Path dir;

    private static Set<String> containersOn(LocalCluster cluster, String agent) {
        try {
            return cluster.control(agent).listContainers(ListContainersRequest.getDefaultInstance()).getContainersList()
                    .stream().map(Container::getId).collect(Collectors.toCollection(TreeSet::new));
        } catch (StatusRuntimeException e) {
            return Set.of();
        }
    }

    /** Runs a container through {@code agent}, retrying while the cluster has no leader. */
    private static void run(LocalCluster cluster, String agent, String id) {
        cluster.await(Duration.ofSeconds(60), "run " + id + " through " + agent, () -> {
            try {
                return cluster.control(agent).runContainer(RunContainerRequest.newBuilder().setContainerId(id)
                        .setBundleDigest("sha256:" + id).build());
            } catch (StatusRuntimeException e) {
                return null; // no leader yet: retry (a repeated run of a committed container just re-marks it running)
            }
        });
    }

    @Test
    void killedLeaderIsReplacedNothingCommittedIsLostAndItCatchesUpOnRestart() throws Exception {
        // Snapshots every 8 entries, and the log purged behind them: the restarted agent recovers from
        // its own snapshot and, having missed more than the purge gap, is sent the leader's.
        try (LocalCluster cluster = LocalCluster.start(3, dir, 8L)) {
            String oldLeader = cluster.awaitLeader(Duration.ofSeconds(60));
            List<String> committed = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String id = "before-" + i;
                run(cluster, cluster.ids().get(i % 3), id);
                committed.add(id);
            }

            cluster.kill(oldLeader);
            long killed = System.nanoTime();
            List<String> survivors = cluster.ids().stream().filter(id -> !id.equals(oldLeader)).toList();
            String newLeader = cluster.await(Duration.ofSeconds(30), "a new leader after killing " + oldLeader, () -> {
                Optional<ClusterStatusReply> s = cluster.status(survivors.get(0));
                return s.map(ClusterStatusReply::getLeaderId).filter(l -> !l.isEmpty() && !l.equals(oldLeader))
                        .orElse(null);
            });
            // It serves: a write through a survivor commits.
            run(cluster, survivors.get(1), "after-kill");
            long servedMs = (System.nanoTime() - killed) / 1_000_000;
            System.out.printf("failover: killed=%s newLeader=%s servedAfterMs=%d%n", oldLeader, newLeader, servedMs);
            assertThat(survivors).contains(newLeader);
            committed.add("after-kill");

            for (String s : survivors) {
                assertThat(cluster.await(Duration.ofSeconds(30), "all commits on " + s,
                        () -> containersOn(cluster, s).containsAll(committed) ? containersOn(cluster, s) : null))
                        .as("nothing committed is lost on " + s).containsAll(committed);
            }

            // More writes while the old leader is down (heartbeats add more), then restart it on its data directory.
            for (int i = 0; i < 12; i++) {
                run(cluster, survivors.get(i % 2), "while-down-" + i);
                committed.add("while-down-" + i);
            }
            try (var files = java.nio.file.Files.walk(dir.resolve(oldLeader))) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .as("the killed agent had written snapshots").anyMatch(n -> n.matches("snapshot\\.\\d+_\\d+"));
            }
            cluster.startAgent(oldLeader);
            Set<String> caughtUp = cluster.await(Duration.ofSeconds(60), oldLeader + " catching up after restart",
                    () -> containersOn(cluster, oldLeader).containsAll(committed) ? containersOn(cluster, oldLeader) : null);
            assertThat(caughtUp).containsAll(committed);
            ClusterStatusReply rejoined = cluster.await(Duration.ofSeconds(30), oldLeader + " knows the leader",
                    () -> cluster.status(oldLeader).filter(s -> !s.getLeaderId().isEmpty()).orElse(null));
            assertThat(rejoined.getRaftPeersCount()).isEqualTo(3);
            // And the cluster takes writes through it again.
            run(cluster, oldLeader, "after-restart");
            for (String s : cluster.ids()) {
                cluster.await(Duration.ofSeconds(30), "after-restart on " + s,
                        () -> containersOn(cluster, s).contains("after-restart") ? true : null);
            }
        }
    }

    @Test
    void withoutAMajorityAWriteFailsAsUnavailableAndSaysWhy() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(3, dir)) {
            String leader = cluster.awaitLeader(Duration.ofSeconds(60));
            String survivor = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
            for (String id : cluster.ids()) {
                if (!id.equals(survivor)) cluster.kill(id);
            }
            StatusRuntimeException e = org.assertj.core.api.Assertions.catchThrowableOfType(StatusRuntimeException.class,
                    () -> cluster.control(survivor).withDeadlineAfter(90, java.util.concurrent.TimeUnit.SECONDS)
                            .runContainer(RunContainerRequest.newBuilder().setContainerId("orphan")
                                    .setBundleDigest("sha256:o").build()));
            assertThat(e).as("the write must fail, not hang or succeed").isNotNull();
            assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("agent " + survivor).contains("majority");
        }
    }
}
