package org.migrationmesh.cluster;

import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.client.retry.RequestTypeDependentRetryPolicy;
import org.apache.ratis.proto.RaftProtos.RaftClientRequestProto;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;

import java.io.IOException;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Commits commands to the cluster from anywhere (an agent, a tool, a benchmark): a Ratis client
 * that finds the leader and follows it across leader changes, retrying for a bounded time (six
 * maximum election timeouts plus one request timeout).
 */
public final class ClusterClient implements AutoCloseable {
    private static final TimeDuration RETRY_SLEEP = TimeDuration.valueOf(100, TimeUnit.MILLISECONDS);

    private final RaftClient client;
    private final String self;
    private final Supplier<String> leaderHint;

    ClusterClient(RaftClient client, String self, Supplier<String> leaderHint) {
        this.client = client;
        this.self = self;
        this.leaderHint = leaderHint;
    }

    /**
     * A client of the Raft group {@code groupUuid} (see {@link NodeSettings#groupUuid()}) whose peers include {@code peers}.
     *
     * @param self a name for error messages (who could not reach a leader)
     */
    public static ClusterClient connect(UUID groupUuid, List<Peer> peers, RaftTiming timing,
                                        String self) {
        RaftGroup group = RaftGroup.valueOf(RaftGroupId.valueOf(groupUuid),
                peers.stream().map(ClusterClient::toRaftPeer).toList());
        RaftClient raft = newRaftClient(group, timing);
        return new ClusterClient(raft, self, () -> {
            RaftPeerId leader = raft.getLeaderId();
            return leader == null ? "" : leader.toString();
        });
    }

    static RaftClient newRaftClient(RaftGroup group, RaftTiming timing) {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(timing.requestTimeout().toMillis(),
                TimeUnit.MILLISECONDS));
        // Retry (following leader changes) for as long as a few election timeouts last, then give up:
        // a failover fits in the budget, a lost majority is reported instead of waited for.
        TimeDuration budget = TimeDuration.valueOf(timing.electionTimeoutMax().toMillis() * 6
                + timing.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        RequestTypeDependentRetryPolicy.Builder retry = RequestTypeDependentRetryPolicy.newBuilder();
        for (RaftClientRequestProto.TypeCase type : RaftClientRequestProto.TypeCase.values()) {
            if (type == RaftClientRequestProto.TypeCase.TYPE_NOT_SET) continue;
            retry.setRetryPolicy(type, RetryPolicies.retryForeverWithSleep(RETRY_SLEEP)).setTimeout(type, budget);
        }
        return RaftClient.newBuilder().setProperties(p).setRaftGroup(group).setRetryPolicy(retry.build()).build();
    }

    static RaftPeer toRaftPeer(Peer p) {
        return RaftPeer.newBuilder().setId(p.id()).setAddress(p.raftAddress()).build();
    }

    /**
     * Commits a command through the leader and returns its applied result.
     *
     * @throws CommandRefusedException     if the state machine refused it (state unchanged)
     * @throws ClusterUnavailableException if no leader took it in time
     */
    public CommandResult submit(Command command) {
        RaftClientReply reply;
        try {
            reply = client.io().send(Message.valueOf(ByteString.copyFrom(command.toByteArray())));
        } catch (IOException e) {
            throw unavailable("could not commit " + command.getKindCase(), e);
        }
        return result(command, reply);
    }

    /**
     * Commits {@code commands} in this order, sent one after the other without waiting for the
     * one before (Ratis keeps a client's asynchronous requests in order), so that they take one
     * round trip to the leader, not one each. Returns their applied results, in order.
     *
     * @throws CommandRefusedException     if the state machine refused one (the first refused; the
     *                                     state is as the ones before it left it, and the ones after
     *                                     it were applied to that state)
     * @throws ClusterUnavailableException if no leader took one in time
     */
    public java.util.List<CommandResult> submitInOrder(java.util.List<Command> commands) {
        java.util.List<java.util.concurrent.CompletableFuture<CommandResult>> sent = new java.util.ArrayList<>();
        for (Command c : commands) sent.add(submitAsync(c));
        // every one has ended (applied, refused or failed) before the first failure is thrown, so that
        // the caller sees the state all of them left, as documented
        java.util.concurrent.CompletableFuture.allOf(sent.toArray(new java.util.concurrent.CompletableFuture<?>[0]))
                .exceptionally(e -> null).join();
        java.util.List<CommandResult> results = new java.util.ArrayList<>();
        for (java.util.concurrent.CompletableFuture<CommandResult> f : sent) results.add(await(f));
        return results;
    }

    /**
     * Sends {@code command} to be committed after every command this client sent before without
     * waiting ({@link #submitInOrder}, earlier calls of this), and before any it sends after.
     * The future fails as {@link #submit} throws.
     */
    public java.util.concurrent.CompletableFuture<CommandResult> submitAsync(Command command) {
        return client.async().send(Message.valueOf(ByteString.copyFrom(command.toByteArray())))
                .handle((reply, e) -> {
                    if (e != null) {
                        Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                                ? e.getCause() : e;
                        throw unavailable("could not commit " + command.getKindCase(),
                                cause instanceof Exception ex ? ex : new RuntimeException(cause));
                    }
                    return result(command, reply);
                });
    }

    /** The result of {@link #submitAsync}, or what {@link #submit} would throw. */
    public static CommandResult await(java.util.concurrent.CompletableFuture<CommandResult> sent) {
        try {
            return sent.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw e;
        }
    }

    private CommandResult result(Command command, RaftClientReply reply) {
        if (!reply.isSuccess()) throw unavailable("could not commit " + command.getKindCase(), reply.getException());
        CommandResult result;
        try {
            result = CommandResult.parseFrom(reply.getMessage().getContent().toByteArray());
        } catch (IOException e) {
            throw new ClusterException("reply to " + command.getKindCase() + " from the leader is not a result", e);
        }
        if (!result.getApplied()) throw CommandRefusedException.of(result);
        return result;
    }

    RaftClient raft() {
        return client;
    }

    ClusterUnavailableException unavailable(String what, Exception cause) {
        String hint = leaderHint.get();
        return new ClusterUnavailableException(self, hint, what + ": no Raft leader answered " + self
                + (hint.isEmpty() ? " (no leader known)" : " (last known leader " + hint + ")")
                + "; check that a majority of peers is up and retry", cause);
    }

    @Override
    public void close() throws IOException {
        client.close();
    }
}
