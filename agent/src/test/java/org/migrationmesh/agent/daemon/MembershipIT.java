package org.migrationmesh.agent.daemon;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.control.AddMemberRequest;
import org.migrationmesh.proto.control.ClusterStatusReply;
import org.migrationmesh.proto.control.ListContainersRequest;
import org.migrationmesh.proto.control.RemoveMemberRequest;
import org.migrationmesh.proto.control.RunContainerRequest;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A fourth agent is added to a running three-agent cluster, serves, and is removed again. */
class MembershipIT {
    @TempDir
    Path dir;

    private static boolean hasContainer(LocalCluster cluster, String agent, String id) {
        try {
            return cluster.control(agent).listContainers(ListContainersRequest.getDefaultInstance())
                    .getContainersList().stream().map(Container::getId).anyMatch(id::equals);
        } catch (StatusRuntimeException e) {
            return false;
        }
    }

    @Test
    void addAServingMemberThenRemoveIt() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(3, dir)) {
            cluster.awaitLeader(Duration.ofSeconds(60));
            cluster.await(Duration.ofSeconds(60), "first write", () -> {
                try {
                    return cluster.control("a1").runContainer(RunContainerRequest.newBuilder().setContainerId("early")
                            .setBundleDigest("sha256:e").build());
                } catch (StatusRuntimeException e) {
                    return null;
                }
            });

            LocalCluster.Agent a4 = cluster.prepareJoiner("a4");
            cluster.startAgent("a4");
            ClusterStatusReply added = cluster.control("a2").addMember(AddMemberRequest.newBuilder().setMemberId("a4")
                    .setRaftAddress(a4.raftAddress()).setControlAddress(a4.controlAddress()).build());
            assertThat(added.getRaftPeersList()).extracting(p -> p.getId()).contains("a1", "a2", "a3", "a4");

            // a4 catches up with what was committed before it came, and joins the member table.
            cluster.await(Duration.ofSeconds(60), "a4 caught up", () -> hasContainer(cluster, "a4", "early") ? true : null);
            cluster.await(Duration.ofSeconds(60), "a4 in the member table", () -> cluster.status("a1")
                    .filter(s -> s.getMembersList().stream().anyMatch(m -> m.getId().equals("a4"))).orElse(null));
            // It serves: a write through a4 is applied on a1.
            Container c = cluster.control("a4").runContainer(RunContainerRequest.newBuilder().setContainerId("via-a4")
                    .setBundleDigest("sha256:4").setOwner("a1").build()).getContainer();
            assertThat(c.getOwner()).isEqualTo("a1");
            cluster.await(Duration.ofSeconds(30), "via-a4 on a1", () -> hasContainer(cluster, "a1", "via-a4") ? true : null);

            // A member that owns containers cannot be removed.
            assertThatThrownBy(() -> cluster.control("a2").removeMember(RemoveMemberRequest.newBuilder()
                    .setMemberId("a1").build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).contains("member a1 still owns containers");
                    });

            ClusterStatusReply removed = cluster.control("a3").removeMember(RemoveMemberRequest.newBuilder()
                    .setMemberId("a4").build());
            assertThat(removed.getRaftPeersList()).extracting(p -> p.getId()).containsExactlyInAnyOrder("a1", "a2", "a3");
            assertThat(removed.getMembersList()).extracting(Member::getId).doesNotContain("a4");

            // Heartbeats of the others keep committing; a4 does not come back into the table.
            long index = cluster.status("a1").orElseThrow().getLastAppliedIndex();
            ClusterStatusReply later = cluster.await(Duration.ofSeconds(60), "a dozen more entries",
                    () -> cluster.status("a1").filter(s -> s.getLastAppliedIndex() >= index + 12).orElse(null));
            assertThat(later.getMembersList()).extracting(Member::getId).containsExactlyInAnyOrder("a1", "a2", "a3");
        }
    }
}
