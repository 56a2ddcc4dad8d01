package org.migrationmesh.cluster;

import org.junit.jupiter.api.Test;
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
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random command sequences over a small universe of names, so that collisions and refusals are
 * common: 300 seeded histories per rule.
 */
class ClusterStatePropertiesTest {
    private static final String[] MEMBERS = {"a", "b", "c", "d"};
    private static final String[] CONTAINERS = {"w1", "w2", "w3"};
    private static final String[] IPS = {"", "10.0.0.1", "10.0.0.2"};
    private static final String[] MIGRATIONS = {"m1", "m2", "m3", "m4", "m5"};

    private static final int TRIES = 300;

    /** Seeded, so that a failure names a reproducible case. */
    private static List<List<Command>> histories(long seed) {
        Random random = new Random(seed);
        List<List<Command>> out = new ArrayList<>();
        for (int i = 0; i < TRIES; i++) out.add(history(random));
        return out;
    }

    private static <T> T pick(Random r, T[] values) {
        return values[r.nextInt(values.length)];
    }

    private static Command randomCommand(Random r) {
        String member = pick(r, MEMBERS);
        String container = pick(r, CONTAINERS);
        String migration = pick(r, MIGRATIONS);
        long epoch = r.nextInt(7);
        return switch (r.nextInt(9)) {
            case 0 -> Commands.join(member, member + ":1", member + ":2", "r", null);
            case 1 -> Commands.heartbeat(member);
            case 2 -> Commands.removeMember(member);
            case 3 -> Commands.register(container, "sha256:" + container, member, pick(r, IPS),
                    r.nextBoolean() ? ContainerState.REGISTERED : ContainerState.RUNNING);
            case 4 -> Commands.setState(container, r.nextBoolean() ? ContainerState.RUNNING : ContainerState.STOPPED, epoch);
            case 5 -> Commands.removeContainer(container, epoch);
            case 6 -> Commands.startMigration(migration, container, "", member, epoch);
            case 7 -> Commands.advance(migration, pick(r, new MigrationPhase[] {MigrationPhase.COPY, MigrationPhase.FREEZE,
                    MigrationPhase.RESTORE, MigrationPhase.COMMIT}), epoch);
            default -> Commands.abort(migration, epoch, "test");
        };
    }

    /** A whole transaction with a guessed token, so that commits and aborts happen often. */
    private static List<Command> transaction(Random r) {
        String id = pick(r, MIGRATIONS);
        long token = 2 + r.nextInt(3);
        List<Command> script = new ArrayList<>();
        script.add(Commands.startMigration(id, pick(r, CONTAINERS), "", pick(r, MEMBERS), 0));
        for (int i = r.nextInt(4); i > 0; i--) script.add(Commands.copyRound(id, token, 100, 1));
        script.add(Commands.advance(id, MigrationPhase.FREEZE, token));
        script.add(Commands.advance(id, MigrationPhase.RESTORE, token));
        script.add(r.nextBoolean() ? Commands.advance(id, MigrationPhase.COMMIT, token) : Commands.abort(id, token, "scripted"));
        return script;
    }

    private static List<Command> history(Random r) {
        List<Command> out = new ArrayList<>();
        long t = r.nextInt(10_001);
        // A populated cluster to start from; the random part may then change or undo any of it.
        for (String m : MEMBERS) out.add(Commands.at(t += 7, Commands.join(m, m + ":1", m + ":2", "r", null)));
        for (int i = 0; i < CONTAINERS.length; i++) {
            out.add(Commands.at(t += 7, Commands.register(CONTAINERS[i], "sha256:" + i, MEMBERS[i], IPS[i],
                    ContainerState.RUNNING)));
        }
        for (int chunks = 5 + r.nextInt(56); chunks > 0; chunks--) {
            List<Command> chunk = r.nextInt(7) == 0 ? transaction(r) : List.of(randomCommand(r));
            for (Command c : chunk) out.add(Commands.at(t += 7, c));
        }
        return out;
    }

    @Test
    void applyIsDeterministic() {
        int n = 0;
        for (List<Command> history : histories(1)) {
            ClusterState one = new ClusterState();
            ClusterState two = new ClusterState();
            for (Command c : history) {
                assertThat(one.apply(c)).as("history %d", n).isEqualTo(two.apply(c));
            }
            assertThat(one.toSnapshot().toByteArray()).isEqualTo(two.toSnapshot().toByteArray());
            n++;
        }
    }

    @Test
    void aRestoredSnapshotBehavesLikeTheOriginal() throws Exception {
        Random splits = new Random(2);
        int n = 0;
        for (List<Command> history : histories(2)) {
            int cut = (int) (history.size() * splits.nextDouble());
            ClusterState original = new ClusterState();
            history.subList(0, cut).forEach(original::apply);
            byte[] bytes = original.toSnapshot().toByteArray();
            ClusterState restored = ClusterState.fromSnapshot(ClusterSnapshot.parseFrom(bytes));
            assertThat(restored).as("history %d cut at %d", n, cut).isEqualTo(original);
            for (Command c : history.subList(cut, history.size())) {
                assertThat(restored.apply(c)).isEqualTo(original.apply(c));
            }
            assertThat(restored).isEqualTo(original);
            n++;
        }
    }

    @Test
    void invariantsHoldAfterEveryCommand() {
        int commits = 0;
        int n = 0;
        for (List<Command> history : histories(3)) {
            ClusterState s = new ClusterState();
            for (Command c : history) {
                if (c.hasAdvanceMigration() && c.getAdvanceMigration().getPhase() == MigrationPhase.COMMIT) {
                    boolean pending = s.migration(c.getAdvanceMigration().getMigrationId())
                            .map(m -> m.getPhase() == MigrationPhase.RESTORE && m.getEpoch() == c.getAdvanceMigration().getEpoch())
                            .orElse(false);
                    if (pending) commits++;
                }
                Map<String, Container> before = new HashMap<>(s.containers());
                CommandResult r = s.apply(c);
                if (!r.getApplied()) assertThat(r.getRefusal()).as("history %d", n).isNotBlank();
                checkInvariants(s);
                for (Container now : s.containers().values()) {
                    Container was = before.get(now.getId());
                    if (was != null) {
                        assertThat(now.getEpoch()).as("epochs never go back (history %d)", n).isGreaterThanOrEqualTo(was.getEpoch());
                        if (!was.getOwner().equals(now.getOwner())) {
                            assertThat(now.getEpoch()).as("an ownership change bumps the epoch (history %d)", n)
                                    .isGreaterThan(was.getEpoch());
                        }
                    }
                }
            }
            n++;
        }
        // The histories must reach the interesting part: committed migrations.
        assertThat(commits).as("COMMITs applied across the histories").isGreaterThanOrEqualTo(20);
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
