package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.control.ClusterStatusReply;

import java.util.List;

/** What agentctl prints: plain records built from replies, rendered as a table or as JSON. */
final class Views {
    private Views() {}

    record MemberView(String id, String raftAddress, String controlAddress, String region, boolean raftPeer,
                      boolean leader, long heartbeatAgeMillis, RuntimeView runtime) {}

    /** What a member's host can do; criuVersion is empty for a host without a container runtime. */
    record RuntimeView(String criuVersion, String runcVersion, boolean dirtyTracking, boolean lazyPages) {
        String summary() {
            if (criuVersion.isEmpty()) return "none";
            return "criu " + criuVersion + (lazyPages ? " post-copy" : "") + (dirtyTracking ? " pre-dump" : "");
        }
    }

    record ClusterView(String answeredBy, String leaderId, String leaderControlAddress, long term,
                       long lastAppliedIndex, List<MemberView> members) {}

    record ContainerView(String id, String owner, String state, long epoch, String floatingIp, String migrationId,
                         String bundleDigest) {}

    record MigrationView(String id, String containerId, String source, String destination, String phase,
                         String outcome, long epoch, int copyRounds, long bytesCopied, long startedMillis,
                         long lastProgressMillis, long finishedMillis, String abortReason) {}

    record ContainerDetail(ContainerView container, MigrationView migration) {}

    static ClusterView cluster(ClusterStatusReply r) {
        List<String> raftIds = r.getRaftPeersList().stream().map(p -> p.getId()).toList();
        java.util.TreeMap<String, MemberView> byId = new java.util.TreeMap<>();
        for (Member m : r.getMembersList()) {
            byId.put(m.getId(), new MemberView(m.getId(), m.getRaftAddress(), m.getControlAddress(), m.getRegion(),
                    raftIds.contains(m.getId()), m.getId().equals(r.getLeaderId()),
                    Math.max(0, r.getNowMillis() - m.getLastHeartbeatMillis()),
                    new RuntimeView(m.getCapabilities().getCriuVersion(), m.getCapabilities().getRuncVersion(),
                            m.getCapabilities().getDirtyTracking(), m.getCapabilities().getLazyPages())));
        }
        for (var p : r.getRaftPeersList()) {
            byId.putIfAbsent(p.getId(), new MemberView(p.getId(), p.getRaftAddress(), "", "", true, p.getLeader(), -1,
                    new RuntimeView("", "", false, false)));
        }
        return new ClusterView(r.getAnsweredBy(), r.getLeaderId(), r.getLeaderControlAddress(), r.getTerm(),
                r.getLastAppliedIndex(), List.copyOf(byId.values()));
    }

    static ContainerView container(Container c) {
        return new ContainerView(c.getId(), c.getOwner(), c.getState().name(), c.getEpoch(), c.getFloatingIp(),
                c.getMigrationId(), c.getBundleDigest());
    }

    static MigrationView migration(Migration m) {
        return new MigrationView(m.getId(), m.getContainerId(), m.getSource(), m.getDestination(), m.getPhase().name(),
                m.getOutcome().name().replace("OUTCOME_", ""), m.getEpoch(), m.getCopyRounds(), m.getBytesCopied(), m.getStartedMillis(),
                m.getLastProgressMillis(), m.getFinishedMillis(), m.getAbortReason());
    }

    static String table(ClusterView v) {
        return "leader: " + (v.leaderId().isEmpty() ? "none" : v.leaderId()) + "  term: " + v.term()
                + "  applied: " + v.lastAppliedIndex() + "  answered by: " + v.answeredBy() + "\n"
                + membersTable(v.members());
    }

    static String membersTable(List<MemberView> members) {
        Table t = new Table("MEMBER", "RAFT", "CONTROL", "REGION", "ROLE", "HEARTBEAT", "RUNTIME");
        for (MemberView m : members) {
            t.row(m.id(), m.raftAddress(), m.controlAddress(), m.region(),
                    m.leader() ? "leader" : m.raftPeer() ? "follower" : "not-in-raft",
                    m.heartbeatAgeMillis() < 0 ? "never" : m.heartbeatAgeMillis() + "ms ago", m.runtime().summary());
        }
        return t.render();
    }

    static String table(List<ContainerView> containers) {
        Table t = new Table("CONTAINER", "OWNER", "STATE", "EPOCH", "FLOATING-IP", "MIGRATION");
        for (ContainerView c : containers) t.row(c.id(), c.owner(), c.state(), c.epoch(), c.floatingIp(), c.migrationId());
        return t.render();
    }

    static String table(MigrationView m) {
        return new Table("MIGRATION", "CONTAINER", "FROM", "TO", "PHASE", "OUTCOME", "EPOCH", "ROUNDS", "BYTES")
                .row(m.id(), m.containerId(), m.source(), m.destination(), m.phase(), m.outcome(), m.epoch(),
                        m.copyRounds(), m.bytesCopied())
                .render() + (m.abortReason().isEmpty() ? "" : "abort reason: " + m.abortReason() + "\n");
    }

    static String table(ContainerDetail d) {
        return table(List.of(d.container())) + (d.migration() == null ? "" : "\n" + table(d.migration()));
    }
}
