package org.migrationmesh.cluster;

import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.TimeDuration;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.rpc.RpcEndpoints.HostPort;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One agent's membership in the Raft cluster: its Ratis server (holding a {@link MeshStateMachine})
 * and a client that sends commands to whichever peer leads.
 *
 * <p>{@link #submit(Command)} may be called on any agent: Ratis routes it to the leader, retrying
 * across leader changes for a bounded time (see {@link ClusterClient}). The agent's storage survives restarts:
 * an agent started on an existing data directory recovers its log and snapshot and catches up.
 */
public final class ClusterNode implements AutoCloseable {
    private final NodeSettings settings;
    private final MeshStateMachine stateMachine;
    private final RaftServer server;
    private final RaftGroupId groupId;
    private final ClusterClient client;

    private ClusterNode(NodeSettings settings, MeshStateMachine stateMachine, RaftServer server,
                        RaftGroupId groupId, ClusterClient client) {
        this.settings = settings;
        this.stateMachine = stateMachine;
        this.server = server;
        this.groupId = groupId;
        this.client = client;
    }

    /** Starts the Raft server (formatting new storage, or recovering existing storage) and its client. */
    public static ClusterNode start(NodeSettings settings, Clock clock) throws IOException {
        RaftGroupId groupId = RaftGroupId.valueOf(settings.groupUuid());
        List<RaftPeer> peers = settings.peers().stream().map(ClusterNode::toRaftPeer).toList();
        RaftGroup group = RaftGroup.valueOf(groupId, peers);
        RaftProperties props = properties(settings);
        MeshStateMachine sm = new MeshStateMachine(clock);
        Files.createDirectories(settings.dataDir());
        boolean recover = Files.isDirectory(settings.dataDir().resolve(settings.groupUuid().toString()));
        RaftServer server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(settings.id()))
                .setStateMachine(sm)
                .setProperties(props)
                .setGroup(group)
                .setOption(recover ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
                .build();
        try {
            server.start();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        ClusterNode[] node = new ClusterNode[1];
        ClusterClient client = new ClusterClient(ClusterClient.newRaftClient(group, settings.timing()),
                "agent " + settings.id(), () -> node[0] == null ? "" : node[0].leaderId().orElse(""));
        node[0] = new ClusterNode(settings, sm, server, groupId, client);
        return node[0];
    }

    private static RaftProperties properties(NodeSettings s) {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        HostPort hp = HostPort.parse(s.raftAddress());
        GrpcConfigKeys.Server.setHost(p, hp.host());
        GrpcConfigKeys.Server.setPort(p, hp.port());
        RaftServerConfigKeys.setStorageDir(p, List.of(s.dataDir().toFile()));
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, ms(s.timing().electionTimeoutMin()));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, ms(s.timing().electionTimeoutMax()));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, ms(s.timing().electionTimeoutMin()));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, ms(s.timing().electionTimeoutMax()));
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, ms(s.timing().requestTimeout()));
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, s.snapshotThreshold());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        // The log is bounded: entries covered by a snapshot are purged; a peer that fell further
        // behind receives the snapshot itself (InstallSnapshot) and then the rest of the log.
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(Integer.MAX_VALUE, Math.max(1, s.snapshotThreshold())));
        // An operator's snapshot request is honoured whenever anything was applied since the last one.
        RaftServerConfigKeys.Snapshot.setCreationGap(p, 1);
        return p;
    }

    private static TimeDuration ms(Duration d) {
        return TimeDuration.valueOf(d.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static RaftPeer toRaftPeer(Peer p) {
        return ClusterClient.toRaftPeer(p);
    }

    /**
     * Commits a command through the leader and returns its applied result.
     *
     * @throws CommandRefusedException     if the state machine refused it (state unchanged)
     * @throws ClusterUnavailableException if no leader took it in time
     */
    public CommandResult submit(Command command) {
        return client.submit(command);
    }

    /** {@link ClusterClient#submitInOrder}: several commands, in order, in one round trip to the leader. */
    public List<CommandResult> submitInOrder(List<Command> commands) {
        return client.submitInOrder(commands);
    }

    /** {@link ClusterClient#submitAsync}: committed in order with what this agent sends without waiting. */
    public java.util.concurrent.CompletableFuture<CommandResult> submitAsync(Command command) {
        return client.submitAsync(command);
    }

    /** The client this agent commits through (shared; do not close). */
    public ClusterClient client() {
        return client;
    }

    private ClusterUnavailableException unavailable(String what, Exception cause) {
        return client.unavailable(what, cause);
    }

    /** Reads this replica's state (may lag the leader by the entries in flight). */
    public <T> T read(Function<ClusterState, T> query) {
        return stateMachine.read(query);
    }

    public MeshStateMachine stateMachine() {
        return stateMachine;
    }

    /** Waits until this replica has applied the entry at {@code index}. */
    public boolean awaitApplied(long index, Duration timeout) {
        try {
            return stateMachine.awaitApplied(index, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public String id() {
        return settings.id();
    }

    public NodeSettings settings() {
        return settings;
    }

    private DivisionInfo info() {
        try {
            return server.getDivision(groupId).getInfo();
        } catch (IOException e) {
            throw new UncheckedIOException("agent " + settings.id() + " has no Raft group " + groupId, e);
        }
    }

    public Optional<String> leaderId() {
        RaftPeerId leader = info().getLeaderId();
        return Optional.ofNullable(leader).map(RaftPeerId::toString);
    }

    public boolean isLeader() {
        return info().isLeader();
    }

    public long term() {
        return info().getCurrentTerm();
    }

    public long lastAppliedIndex() {
        return info().getLastAppliedIndex();
    }

    /** The peers of the Raft configuration this agent currently knows. */
    public List<Peer> raftPeers() {
        try {
            Collection<RaftPeer> peers = server.getDivision(groupId).getRaftConf().getCurrentPeers();
            return peers.stream().map(p -> new Peer(p.getId().toString(), p.getAddress())).sorted(
                    java.util.Comparator.comparing(Peer::id)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Adds a peer to the Raft configuration (the leader catches it up before it votes). */
    public void addPeer(Peer peer) {
        List<Peer> next = new ArrayList<>(raftPeers());
        if (next.stream().anyMatch(p -> p.id().equals(peer.id()))) {
            throw new CommandRefusedException(org.migrationmesh.proto.cluster.RefusalCode.ALREADY_EXISTS,
                    "peer " + peer.id() + " is already in the Raft configuration");
        }
        next.add(peer);
        setConfiguration(next, "add peer " + peer.id());
    }

    /** Removes a peer from the Raft configuration. */
    public void removePeer(String peerId) {
        List<Peer> next = new ArrayList<>(raftPeers());
        if (!next.removeIf(p -> p.id().equals(peerId))) {
            throw new CommandRefusedException(org.migrationmesh.proto.cluster.RefusalCode.NOT_FOUND,
                    "peer " + peerId + " is not in the Raft configuration " + raftPeers());
        }
        setConfiguration(next, "remove peer " + peerId);
    }

    private void setConfiguration(List<Peer> peers, String what) {
        RaftClientReply reply;
        try {
            reply = client.raft().admin().setConfiguration(peers.stream().map(ClusterNode::toRaftPeer).toList());
        } catch (IOException e) {
            throw unavailable("could not " + what, e);
        }
        if (!reply.isSuccess()) throw unavailable("could not " + what, reply.getException());
    }

    /** Asks this agent's own Raft server to write a snapshot now; returns the snapshot's log index. */
    public long takeSnapshot(Duration timeout) {
        RaftClientReply reply;
        try {
            reply = client.raft().getSnapshotManagementApi(RaftPeerId.valueOf(settings.id())).create(timeout.toMillis());
        } catch (IOException e) {
            throw new ClusterException("agent " + settings.id() + " could not take a snapshot", e);
        }
        if (!reply.isSuccess()) {
            throw new ClusterException("agent " + settings.id() + " could not take a snapshot", reply.getException());
        }
        return reply.getLogIndex();
    }

    @Override
    public void close() throws IOException {
        try {
            client.close();
        } finally {
            server.close();
        }
    }
}
