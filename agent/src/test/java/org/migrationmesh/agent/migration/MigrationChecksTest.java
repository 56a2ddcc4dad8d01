package org.migrationmesh.agent.migration;

import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.runtime.RuntimeCapabilities;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class MigrationChecksTest {
    private static final long NOW = 1_000_000;
    private final Map<String, Member> members = new HashMap<>();
    private Container tick = Container.newBuilder().setId("tick1").setOwner("a1").setState(ContainerState.RUNNING).build();

    MigrationChecksTest() {
        member("a1", "4.2.1", true, NOW - 100);
        member("a2", "4.2.1", true, NOW - 300);
    }

    private void member(String id, String criu, boolean lazy, long heartbeat) {
        members.put(id, Member.newBuilder().setId(id).setControlAddress(id + ":7100").setLastHeartbeatMillis(heartbeat)
                .setCapabilities(RuntimeCapabilities.newBuilder().setCriuVersion(criu).setRuncVersion("1.1.5")
                        .setLazyPages(lazy)).build());
    }

    private MigrationChecks.Verdict check(String dest, boolean postCopy) {
        return MigrationChecks.check("", "tick1", Optional.ofNullable(tick), dest,
                id -> Optional.ofNullable(members.get(id)), postCopy, NOW);
    }

    @Test
    void aHealthyDestinationGoes() {
        MigrationChecks.Verdict v = check("a2", true);
        assertThat(v.go()).as(v.toString()).isTrue();
        assertThat(v.refusals()).isEmpty();
        assertThat(v.checks()).extracting(MigrationChecks.Check::name)
                .containsExactly("container", "destination", "alive", "reachable", "runtime", "criu", "lazy-pages");
    }

    @Test
    void theSourceItselfIsRefused() {
        assertThat(check("a1", false).refusals()).contains("already runs on a1");
    }

    @Test
    void anUnknownContainerOrMemberIsRefused() {
        assertThat(check("a9", false).refusals()).contains("a9 is not a member");
        tick = null;
        assertThat(check("a2", false).refusals()).contains("no container tick1");
    }

    @Test
    void aContainerThatIsStoppedOrMovingIsRefused() {
        tick = tick.toBuilder().setState(ContainerState.STOPPED).build();
        assertThat(check("a2", false).refusals()).contains("is STOPPED");
        tick = tick.toBuilder().setState(ContainerState.RUNNING).setMigrationId("m1").build();
        assertThat(check("a2", false).refusals()).contains("already migrating (migration m1)");
        assertThat(MigrationChecks.check("m1", "tick1", Optional.of(tick), "a2", id -> Optional.ofNullable(members.get(id)),
                false, NOW).go()).as("the migration being prepared may name it").isTrue();
    }

    @Test
    void aSilentDestinationIsTakenForDead() {
        member("a2", "4.2.1", true, NOW - MigrationChecks.LIVENESS.toMillis() - 1);
        assertThat(check("a2", false).refusals()).contains("last heard from").contains("down?");
    }

    @Test
    void aDestinationWithoutRuntimeOrLazyPagesIsRefused() {
        member("a2", "4.2.1", false, NOW);
        assertThat(check("a2", false).go()).isTrue();
        assertThat(check("a2", true).refusals()).contains("cannot restore lazily");
        member("a2", "", false, NOW);
        assertThat(check("a2", false).refusals()).contains("no container runtime");
    }

    @Test
    void criuMustBeTheSameMajorAndNotOlder() {
        assertThat(MigrationChecks.criuIncompatibility("4.2.1", "4.2.1")).isEmpty();
        assertThat(MigrationChecks.criuIncompatibility("4.2", "4.3.0")).isEmpty();
        assertThat(MigrationChecks.criuIncompatibility("4.2.1", "4.2.0")).get().asString().contains("older");
        assertThat(MigrationChecks.criuIncompatibility("4.2.1", "4.1.9")).get().asString().contains("older");
        assertThat(MigrationChecks.criuIncompatibility("3.17", "4.2.1")).get().asString().contains("major");
        assertThat(MigrationChecks.criuIncompatibility("unknown", "4.2.1")).isEmpty();
        member("a2", "5.0", true, NOW);
        assertThat(check("a2", false).refusals()).contains("another major version");
    }
}
