package org.migrationmesh.agent.daemon;

import org.migrationmesh.cluster.ClusterClient;
import org.migrationmesh.cluster.Commands;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.control.ClusterStatusReply;
import org.migrationmesh.proto.control.ClusterStatusRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Three agent JVMs on loopback. Prints (1) the commit latency of an ownership change (the COMMIT
 * entry that moves a container and its IP) and of a migration start (epoch bump), against a plain
 * gRPC round trip to the leader in the same run; (2) leader failover time after kill -9.
 *
 * <p>Usage: {@code ClusterBenchmark [ops] [failovers]} (defaults 300 and 3); see scripts/bench-cluster.sh.
 */
public final class ClusterBenchmark {
    private ClusterBenchmark() {}

    public static void main(String[] args) throws Exception {
        int ops = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int failovers = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int warmup = Math.max(20, ops / 5);
        Path dir = Files.createTempDirectory("mm-bench-");
        try (LocalCluster cluster = LocalCluster.start(3, dir, null,
                List.of("-Xmx256m", "-XX:+UseSerialGC"))) {
            String leader = cluster.awaitLeader(Duration.ofSeconds(60));
            System.out.printf("cluster up: 3 agent JVMs on loopback, leader %s, raft timing %s%n", leader,
                    AgentConfig.load(cluster.agent("a1").config()).timing());
            try (ClusterClient raft = cluster.raftClient()) {
                cluster.await(Duration.ofSeconds(60), "members joined",
                        () -> cluster.status("a1").filter(s -> s.getMembersCount() == 3).orElse(null));
                long[] baseline = new long[ops];
                long[] start = new long[ops];
                long[] commit = new long[ops];
                for (int i = -warmup; i < ops; i++) {
                    String c = "bench-" + (i + warmup);
                    String mig = "mig-" + (i + warmup);
                    long t0 = System.nanoTime();
                    cluster.control(leader).clusterStatus(ClusterStatusRequest.getDefaultInstance());
                    long t1 = System.nanoTime();
                    raft.submit(Commands.register(c, "sha256:b", "a1", "", ContainerState.RUNNING));
                    long t2 = System.nanoTime();
                    long token = raft.submit(Commands.startMigration(mig, c, "", "a2", 0)).getEpoch();
                    long t3 = System.nanoTime();
                    raft.submit(Commands.advance(mig, MigrationPhase.FREEZE, token));
                    raft.submit(Commands.advance(mig, MigrationPhase.RESTORE, token));
                    long t4 = System.nanoTime();
                    raft.submit(Commands.advance(mig, MigrationPhase.COMMIT, token));
                    long t5 = System.nanoTime();
                    if (i >= 0) {
                        baseline[i] = t1 - t0;
                        start[i] = t3 - t2;
                        commit[i] = t5 - t4;
                    }
                }
                System.out.printf("n=%d (after %d warm-up rounds), client in a 4th JVM%n", ops, warmup);
                print("baseline: gRPC round trip to the leader (ClusterStatus, no consensus)", baseline);
                print("migration start (epoch bump, replicated)", start);
                print("ownership change (COMMIT moves container + IP, replicated)", commit);
                System.out.printf("ratio commit/baseline: p50 %.1fx, p99 %.1fx%n",
                        pct(commit, 50) / pct(baseline, 50), pct(commit, 99) / pct(baseline, 99));

                List<Double> served = new ArrayList<>();
                List<Double> elected = new ArrayList<>();
                for (int round = 0; round < failovers; round++) {
                    String old = cluster.awaitLeader(Duration.ofSeconds(60));
                    List<String> survivors = cluster.ids().stream().filter(id -> !id.equals(old)).toList();
                    cluster.kill(old);
                    long k = System.nanoTime();
                    String newLeader = cluster.await(Duration.ofSeconds(60), "new leader", () -> {
                        Optional<ClusterStatusReply> s = cluster.status(survivors.get(0));
                        return s.map(ClusterStatusReply::getLeaderId).filter(l -> !l.isEmpty() && !l.equals(old))
                                .orElse(null);
                    });
                    elected.add((System.nanoTime() - k) / 1e6);
                    raft.submit(Commands.heartbeat(survivors.get(0)));
                    served.add((System.nanoTime() - k) / 1e6);
                    System.out.printf("failover %d: killed %s, new leader %s, elected after %.0f ms, "
                            + "first commit after %.0f ms%n", round + 1, old, newLeader,
                            elected.get(round), served.get(round));
                    cluster.startAgent(old);
                    long applied = cluster.status(newLeader).orElseThrow().getLastAppliedIndex();
                    cluster.await(Duration.ofSeconds(60), old + " caught up", () -> cluster.status(old)
                            .filter(s -> s.getLastAppliedIndex() >= applied && !s.getLeaderId().isEmpty())
                            .orElse(null));
                }
                if (!served.isEmpty()) {
                    System.out.printf("failover (kill -9 leader -> first commit): median %.0f ms, max %.0f ms over %d runs%n",
                            median(served), served.stream().mapToDouble(d -> d).max().orElse(0), served.size());
                }
            }
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void print(String what, long[] nanos) {
        System.out.printf("%-66s p50 %7.2f ms   p99 %7.2f ms%n", what, pct(nanos, 50), pct(nanos, 99));
    }

    private static double pct(long[] nanos, int p) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))] / 1e6;
    }

    private static double median(List<Double> values) {
        List<Double> s = values.stream().sorted().toList();
        return s.get(s.size() / 2);
    }
}
