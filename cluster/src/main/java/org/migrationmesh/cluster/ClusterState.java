package org.migrationmesh.cluster;

import org.migrationmesh.proto.cluster.ClusterSnapshot;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.FloatingIp;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.cluster.Migration;

import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The replicated state: members, containers, floating IPs and migrations.
 *
 * <p>Pure and deterministic: {@link #apply(Command)} depends only on the state and the command
 * (time comes in the command, stamped by the leader), does no I/O and never reads a clock, so every
 * replica applying the same log reaches the same state. A refused command leaves the state
 * unchanged and says why in its {@link CommandResult}.
 *
 * <p>Not thread-safe: the Raft adapter applies one entry at a time and guards reads.
 */
public final class ClusterState {
    final TreeMap<String, Member> members = new TreeMap<>();
    final TreeMap<String, Container> containers = new TreeMap<>();
    final TreeMap<String, FloatingIp> ips = new TreeMap<>();
    final TreeMap<String, Migration> migrations = new TreeMap<>();
    /** The largest command time applied so far: the state's own clock never goes backwards. */
    long clockMillis;

    /** Applies one command; the result says whether it was applied or why it was refused. */
    public CommandResult apply(Command command) {
        long now = Math.max(clockMillis, command.getTimeMillis());
        try {
            long epoch = new CommandHandlers(this, now).handle(command);
            clockMillis = now;
            return CommandResult.newBuilder().setApplied(true).setEpoch(epoch).build();
        } catch (CommandRefusedException refused) {
            return refused.toResult();
        }
    }

    public Optional<Member> member(String id) {
        return Optional.ofNullable(members.get(id));
    }

    public Optional<Container> container(String id) {
        return Optional.ofNullable(containers.get(id));
    }

    public Optional<FloatingIp> ip(String address) {
        return Optional.ofNullable(ips.get(address));
    }

    public Optional<Migration> migration(String id) {
        return Optional.ofNullable(migrations.get(id));
    }

    /** The migration in progress for a container, or else its most recently started one. */
    public Optional<Migration> latestMigrationOf(String containerId) {
        Container c = containers.get(containerId);
        if (c != null && !c.getMigrationId().isEmpty()) return migration(c.getMigrationId());
        return migrations.values().stream()
                .filter(m -> m.getContainerId().equals(containerId))
                .max((a, b) -> a.getStartedMillis() != b.getStartedMillis()
                        ? Long.compare(a.getStartedMillis(), b.getStartedMillis())
                        : a.getId().compareTo(b.getId()));
    }

    public SortedMap<String, Member> members() {
        return java.util.Collections.unmodifiableSortedMap(members);
    }

    public SortedMap<String, Container> containers() {
        return java.util.Collections.unmodifiableSortedMap(containers);
    }

    public SortedMap<String, FloatingIp> ips() {
        return java.util.Collections.unmodifiableSortedMap(ips);
    }

    public SortedMap<String, Migration> migrations() {
        return java.util.Collections.unmodifiableSortedMap(migrations);
    }

    public long clockMillis() {
        return clockMillis;
    }

    /** The whole state as a message whose repeated fields are sorted by key (equal states, equal bytes). */
    public ClusterSnapshot toSnapshot() {
        return ClusterSnapshot.newBuilder()
                .addAllMembers(members.values())
                .addAllContainers(containers.values())
                .addAllIps(ips.values())
                .addAllMigrations(migrations.values())
                .setClockMillis(clockMillis)
                .build();
    }

    /** The state a snapshot describes. */
    public static ClusterState fromSnapshot(ClusterSnapshot snapshot) {
        ClusterState s = new ClusterState();
        snapshot.getMembersList().forEach(m -> s.members.put(m.getId(), m));
        snapshot.getContainersList().forEach(c -> s.containers.put(c.getId(), c));
        snapshot.getIpsList().forEach(ip -> s.ips.put(ip.getAddress(), ip));
        snapshot.getMigrationsList().forEach(m -> s.migrations.put(m.getId(), m));
        s.clockMillis = snapshot.getClockMillis();
        return s;
    }

    /** Replaces this state's content with a snapshot's (used when Raft installs a snapshot). */
    public void restore(ClusterSnapshot snapshot) {
        ClusterState s = fromSnapshot(snapshot);
        members.clear();
        members.putAll(s.members);
        containers.clear();
        containers.putAll(s.containers);
        ips.clear();
        ips.putAll(s.ips);
        migrations.clear();
        migrations.putAll(s.migrations);
        clockMillis = s.clockMillis;
    }

    /** Containers owned by a member, by id. */
    public List<Container> containersOwnedBy(String memberId) {
        return containers.values().stream().filter(c -> c.getOwner().equals(memberId)).toList();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterState other && toSnapshot().equals(other.toSnapshot());
    }

    @Override
    public int hashCode() {
        return toSnapshot().hashCode();
    }

    @Override
    public String toString() {
        return "ClusterState{members=" + members.keySet() + ", containers=" + containers.keySet()
                + ", migrations=" + migrations.size() + ", clock=" + clockMillis + "}";
    }
}
