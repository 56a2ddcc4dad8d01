package org.migrationmesh.cluster;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.proto.cluster.ClusterSnapshot;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.MigrationPhase;
import org.migrationmesh.proto.cluster.RefusalCode;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A real single-peer Ratis server on loopback: commit, refusal, snapshot on disk, restart from it. */
class ClusterNodeTest {
    @TempDir
    Path dir;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private NodeSettings settings(int port) {
        String addr = "127.0.0.1:" + port;
        return new NodeSettings("solo", addr, "test-" + port, List.of(new Peer("solo", addr)), dir.resolve("data"),
                new RaftTiming(Duration.ofMillis(300), Duration.ofMillis(600), Duration.ofMillis(3000)), 10_000);
    }

    @Test
    void commitsRefusesSnapshotsAndRestartsWithItsState() throws Exception {
        NodeSettings settings = settings(freePort());
        ClusterSnapshot before;
        long snapshotIndex;
        Clock fixed = Clock.fixed(java.time.Instant.ofEpochMilli(1_700_000_000_000L), java.time.ZoneOffset.UTC);
        try (ClusterNode node = ClusterNode.start(settings, fixed)) {
            node.submit(Commands.join("solo", settings.raftAddress(), "127.0.0.1:1", "eu", null));
            node.submit(Commands.register("web", "sha256:1", "solo", "10.1.0.1", ContainerState.RUNNING));
            long heartbeat = node.read(s -> s.member("solo").orElseThrow().getLastHeartbeatMillis());
            assertThat(heartbeat)
                    .as("the leader stamped its clock into the command").isEqualTo(1_700_000_000_000L);
            assertThatThrownBy(() -> node.submit(Commands.register("web", "sha256:2", "solo", "", ContainerState.RUNNING)))
                    .isInstanceOfSatisfying(CommandRefusedException.class,
                            e -> assertThat(e.code()).isEqualTo(RefusalCode.ALREADY_EXISTS));
            assertThatThrownBy(() -> node.submit(Commands.advance("nope", MigrationPhase.COPY, 3)))
                    .isInstanceOf(CommandRefusedException.class).hasMessageContaining("no migration nope");
            snapshotIndex = node.takeSnapshot(Duration.ofSeconds(20));
            CommandResult after = node.submit(Commands.heartbeat("solo"));
            assertThat(after.getLogIndex()).isGreaterThan(snapshotIndex);
            before = node.read(ClusterState::toSnapshot);
        }
        try (Stream<Path> files = Files.walk(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertThat(names).anyMatch(n -> n.matches("snapshot\\.\\d+_" + snapshotIndex));
            assertThat(names).anyMatch(n -> n.matches("snapshot\\.\\d+_" + snapshotIndex + "\\.md5"));
            assertThat(names).noneMatch(n -> n.endsWith(".writing"));
        }
        try (ClusterNode node = ClusterNode.start(settings, Clock.systemUTC())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!node.read(ClusterState::toSnapshot).equals(before) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(node.read(ClusterState::toSnapshot)).as("snapshot plus log replay").isEqualTo(before);
            assertThatThrownBy(() -> node.submit(Commands.startMigration("m1", "web", "", "solo", 0)))
                    .isInstanceOf(CommandRefusedException.class).hasMessageContaining("already runs on solo");
            assertThat(node.submit(Commands.heartbeat("solo")).getApplied()).isTrue();
        }
    }

    @Test
    void commandsSubmittedInOrderApplyInOrderInOneGo() throws Exception {
        NodeSettings settings = settings(freePort());
        try (ClusterNode node = ClusterNode.start(settings, Clock.systemUTC())) {
            node.submit(Commands.join("solo", settings.raftAddress(), "127.0.0.1:1", "eu", null));
            node.submit(Commands.join("b", "127.0.0.1:2", "127.0.0.1:3", "eu", null));
            node.submit(Commands.register("web", "sha256:1", "solo", "10.1.0.1", ContainerState.RUNNING));
            for (int i = 0; i < 10; i++) { // RESTORE is refused unless FREEZE was applied before it
                String id = "m" + i;
                long epoch = node.read(st -> st.container("web").orElseThrow().getEpoch());
                long token = node.submit(Commands.startMigration(id, "web", "solo", "b", epoch)).getEpoch();
                List<CommandResult> done = node.submitInOrder(List.of(Commands.advance(id, MigrationPhase.FREEZE, token),
                        Commands.advance(id, MigrationPhase.RESTORE, token)));
                assertThat(done).hasSize(2).allMatch(CommandResult::getApplied);
                assertThat(done.get(1).getLogIndex()).isGreaterThan(done.get(0).getLogIndex());
                MigrationPhase phase = node.read(st -> st.migration(id).orElseThrow().getPhase());
                assertThat(phase).isEqualTo(MigrationPhase.RESTORE);
                node.submit(Commands.abort(id, token, "test"));
            }
            long epoch = node.read(st -> st.container("web").orElseThrow().getEpoch());
            long token = node.submit(Commands.startMigration("late", "web", "solo", "b", epoch)).getEpoch();
            assertThatThrownBy(() -> node.submitInOrder(List.of(Commands.advance("late", MigrationPhase.RESTORE, token),
                    Commands.advance("late", MigrationPhase.FREEZE, token))))
                    .as("RESTORE before FREEZE").isInstanceOf(CommandRefusedException.class);
            MigrationPhase late = node.read(st -> st.migration("late").orElseThrow().getPhase());
            assertThat(late).as("the one after the refused one applied to the state it left").isEqualTo(MigrationPhase.FREEZE);
        }
    }
}
