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
                         long lastProgressMillis, long finishedMillis, String abortReason, ReportView report) {}

    /** A committed migration's figures, phase by phase (null until COMMIT). */
    record ReportView(String mode, List<Long> preCopyRoundBytes, long checkpointMs, long frozenMs, long imageBytes,
                      long wireBytes, long transferMs, long ipClaimMs, long restoreMs, long downtimeMs,
                      long pagesPulledMs, long totalMs, int damagedChunkResends) {}

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
                m.getLastProgressMillis(), m.getFinishedMillis(), m.getAbortReason(), report(m));
    }

    private static ReportView report(Migration m) {
        if (!m.hasReport()) return null;
        var r = m.getReport();
        return new ReportView(r.getMode(), List.copyOf(r.getPreCopyRoundBytesList()), r.getCheckpointMs(), r.getFrozenMs(),
                r.getImageBytes(), r.getWireBytes(), r.getTransferMs(), r.getIpClaimMs(), r.getRestoreMs(),
                r.getDowntimeMs(), r.getPagesPulledMs(), r.getTotalMs(), r.getDamagedChunkResends());
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
                .render() + (m.abortReason().isEmpty() ? "" : "abort reason: " + m.abortReason() + "\n")
                + (m.report() == null ? "" : table(m.report()));
    }

    /** The seed's report, phase by phase. */
    static String table(ReportView r) {
        StringBuilder sb = new StringBuilder("report (" + r.mode() + "):\n");
        for (int i = 0; i < r.preCopyRoundBytes().size(); i++) {
            sb.append(String.format("  pre-copy round %-4d %12s  on the wire, the container running%n", i + 1,
                    bytes(r.preCopyRoundBytes().get(i))));
        }
        sb.append(String.format("  checkpoint          %9d ms%s%n", r.checkpointMs(),
                r.frozenMs() > 0 ? "  (frozen " + r.frozenMs() + " ms by CRIU's count)" : ""));
        sb.append(String.format("  final image       %12s  on the wire %s, in %d ms%n", bytes(r.imageBytes()),
                bytes(r.wireBytes()), r.transferMs()));
        if (r.damagedChunkResends() > 0) {
            sb.append(String.format("  resent              %9dx   after the destination refused a damaged chunk%n",
                    r.damagedChunkResends()));
        }
        sb.append(String.format("  IP handover         %9d ms%n", r.ipClaimMs()));
        sb.append(String.format("  restore             %9d ms%n", r.restoreMs()));
        sb.append(String.format("  downtime            %9d ms  (freeze to serving at the destination)%n", r.downtimeMs()));
        if (r.mode().endsWith("post-copy")) sb.append(String.format("  pages pulled        %9d ms  after the restore%n", r.pagesPulledMs()));
        sb.append(String.format("  total               %9d ms%n", r.totalMs()));
        return sb.toString();
    }

    static String bytes(long n) {
        if (n >= 1 << 20) return String.format("%.1f MiB", n / 1048576.0);
        if (n >= 1 << 10) return String.format("%.1f KiB", n / 1024.0);
        return n + " B";
    }

    static String table(ContainerDetail d) {
        return table(List.of(d.container())) + (d.migration() == null ? "" : "\n" + table(d.migration()));
    }
}
