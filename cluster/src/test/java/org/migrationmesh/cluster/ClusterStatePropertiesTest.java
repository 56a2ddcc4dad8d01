package org.migrationmesh.cluster;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.migrationmesh.proto.cluster.ClusterSnapshot;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.FloatingIp;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.cluster.MigrationPhase;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Random command sequences over a small universe of names, so that collisions and refusals are common. */
class ClusterStatePropertiesTest {
    private static final String[] MEMBERS = {"a", "b", "c", "d"};
    private static final String[] CONTAINERS = {"w1", "w2", "w3"};
    private static final String[] IPS = {"", "10.0.0.1", "10.0.0.2"};
    private static final String[] MIGRATIONS = {"m1", "m2", "m3", "m4", "m5"};

    @Provide
    Arbitrary<List<Command>> histories() {
        Arbitrary<String> member = Arbitraries.of(MEMBERS);
        Arbitrary<String> container = Arbitraries.of(CONTAINERS);
        Arbitrary<String> migration = Arbitraries.of(MIGRATIONS);
        Arbitrary<Long> epoch = Arbitraries.longs().between(0, 6);
        Arbitrary<Long> time = Arbitraries.longs().between(0, 10_000);
        Arbitrary<Command> kind = Arbitraries.oneOf(
                member.map(m -> Commands.join(m, m + ":1", m + ":2", "r", null)),
                member.map(Commands::heartbeat),
                member.map(Commands::removeMember),
                Combinators.combine(container, member, Arbitraries.of(IPS), Arbitraries.of(ContainerState.REGISTERED,
                        ContainerState.RUNNING)).as((c, m, ip, st) -> Commands.register(c, "sha256:" + c, m, ip, st)),
                Combinators.combine(container, Arbitraries.of(ContainerState.RUNNING, ContainerState.STOPPED), epoch)
                        .as(Commands::setState),
                Combinators.combine(container, epoch).as(Commands::removeContainer),
                Combinators.combine(migration, container, member, epoch)
                        .as((id, c, dst, e) -> Commands.startMigration(id, c, "", dst, e)),
                Combinators.combine(migration, Arbitraries.of(MigrationPhase.COPY, MigrationPhase.FREEZE,
                        MigrationPhase.RESTORE, MigrationPhase.COMMIT), epoch).as(Commands::advance),
                Combinators.combine(migration, epoch).as((id, e) -> Commands.abort(id, e, "test")));
        // Whole transactions too, with a guessed token, so that commits and aborts happen often.
        Arbitrary<List<Command>> transaction = Combinators.combine(migration, container, member,
                Arbitraries.longs().between(2, 4), Arbitraries.integers().between(0, 3), Arbitraries.of(true, false))
                .as((id, c, dst, token, rounds, commit) -> {
                    List<Command> script = new ArrayList<>();
                    script.add(Commands.startMigration(id, c, "", dst, 0));
                    for (int i = 0; i < rounds; i++) script.add(Commands.copyRound(id, token, 100, 1));
                    script.add(Commands.advance(id, MigrationPhase.FREEZE, token));
                    script.add(Commands.advance(id, MigrationPhase.RESTORE, token));
                    script.add(commit ? Commands.advance(id, MigrationPhase.COMMIT, token)
                            : Commands.abort(id, token, "scripted"));
                    return script;
                });
        Arbitrary<List<Command>> chunk = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, kind.map(List::of)), net.jqwik.api.Tuple.of(1, transaction));
        return Combinators.combine(time, chunk.list().ofMinSize(5).ofMaxSize(60)).as((t0, chunks) -> {
            List<Command> out = new ArrayList<>();
            long t = t0;
            // A populated cluster to start from; the random part may then change or undo any of it.
            for (String m : MEMBERS) out.add(Commands.at(t += 7, Commands.join(m, m + ":1", m + ":2", "r", null)));
            for (int i = 0; i < CONTAINERS.length; i++) {
                out.add(Commands.at(t += 7, Commands.register(CONTAINERS[i], "sha256:" + i, MEMBERS[i],
                        IPS[i], ContainerState.RUNNING)));
            }
            for (List<Command> ch : chunks) {
                for (Command c : ch) out.add(Commands.at(t += 7, c));
            }
            return out;
        });
    }

    @Property(tries = 300)
    void applyIsDeterministic(@ForAll("histories") List<Command> history) {
        ClusterState one = new ClusterState();
        ClusterState two = new ClusterState();
        for (Command c : history) {
            assertThat(one.apply(c)).isEqualTo(two.apply(c));
        }
        assertThat(one.toSnapshot().toByteArray()).isEqualTo(two.toSnapshot().toByteArray());
    }

    @Property(tries = 300)
    void aRestoredSnapshotBehavesLikeTheOriginal(@ForAll("histories") List<Command> history,
                                                 @ForAll("splits") double split) throws Exception {
        int cut = (int) (history.size() * split);
        ClusterState original = new ClusterState();
        history.subList(0, cut).forEach(original::apply);
        byte[] bytes = original.toSnapshot().toByteArray();
        ClusterState restored = ClusterState.fromSnapshot(ClusterSnapshot.parseFrom(bytes));
        assertThat(restored).isEqualTo(original);
        for (Command c : history.subList(cut, history.size())) {
            assertThat(restored.apply(c)).isEqualTo(original.apply(c));
        }
        assertThat(restored).isEqualTo(original);
    }

    @Provide
    Arbitrary<Double> splits() {
        return Arbitraries.doubles().between(0, 1);
    }

    @Property(tries = 300)
    void invariantsHoldAfterEveryCommand(@ForAll("histories") List<Command> history) {
        ClusterState s = new ClusterState();
        Map<String, Long> lastEpoch = new HashMap<>();
        for (Command c : history) {
            if (c.hasAdvanceMigration() && c.getAdvanceMigration().getPhase() == MigrationPhase.COMMIT) {
                boolean pending = s.migration(c.getAdvanceMigration().getMigrationId())
                        .map(m -> m.getPhase() == MigrationPhase.RESTORE && m.getEpoch() == c.getAdvanceMigration().getEpoch())
                        .orElse(false);
                Statistics.label("commit applied").collect(pending);
            }
            Map<String, Container> before = new HashMap<>(s.containers());
            CommandResult r = s.apply(c);
            if (!r.getApplied()) assertThat(r.getRefusal()).isNotBlank();
            checkInvariants(s);
            for (Container now : s.containers().values()) {
                Container was = before.get(now.getId());
                if (was != null) {
                    assertThat(now.getEpoch()).as("epochs never go back").isGreaterThanOrEqualTo(was.getEpoch());
                    if (!was.getOwner().equals(now.getOwner())) {
                        assertThat(now.getEpoch()).as("an ownership change bumps the epoch").isGreaterThan(was.getEpoch());
                    }
                }
                lastEpoch.merge(now.getId(), now.getEpoch(), Math::max);
            }
        }
        Statistics.label("commit applied").coverage(check -> check.check(true).count(n -> n >= 20));
    }

    private static void checkInvariants(ClusterState s) {
        Map<String, List<Migration>> pendingByContainer = new HashMap<>();
        for (Migration m : s.migrations().values()) {
            if (m.getOutcome() == MigrationOutcome.OUTCOME_PENDING) {
                pendingByContainer.computeIfAbsent(m.getContainerId(), k -> new ArrayList<>()).add(m);
            }
        }
        for (Container c : s.containers().values()) {
            assertThat(s.member(c.getOwner())).as("owner of %s is a member", c.getId()).isPresent();
            List<Migration> pending = pendingByContainer.getOrDefault(c.getId(), List.of());
            assertThat(pending.size()).as("at most one migration of %s", c.getId()).isLessThanOrEqualTo(1);
            if (c.getMigrationId().isEmpty()) {
                assertThat(pending).isEmpty();
            } else {
                assertThat(pending).singleElement().satisfies(m -> {
                    assertThat(m.getId()).isEqualTo(c.getMigrationId());
                    assertThat(m.getEpoch()).as("the migration holds the container's epoch").isEqualTo(c.getEpoch());
                    assertThat(m.getSource()).isEqualTo(c.getOwner());
                });
            }
            if (!c.getFloatingIp().isEmpty()) {
                FloatingIp ip = s.ip(c.getFloatingIp()).orElseThrow();
                assertThat(ip.getContainerId()).isEqualTo(c.getId());
                assertThat(ip.getOwner()).as("the IP follows its container").isEqualTo(c.getOwner());
            }
        }
        for (FloatingIp ip : s.ips().values()) {
            if (!ip.getContainerId().isEmpty()) {
                assertThat(s.container(ip.getContainerId())).isPresent();
            }
        }
        assertThat(pendingByContainer.keySet()).allSatisfy(id -> assertThat(s.container(id)).isPresent());
    }
}
