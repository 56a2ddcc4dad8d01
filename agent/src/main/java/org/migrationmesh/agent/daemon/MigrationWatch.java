package org.migrationmesh.agent.daemon;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.MeshStateMachine;
import org.migrationmesh.cluster.MigrationPhases;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.control.MigrationProgress;

/**
 * One WatchMigration stream: sends the migration as this agent's replica sees it now, then again
 * after every applied entry that changes it, and completes once it is committed or aborted.
 * Called from the apply thread and the RPC thread, hence synchronised.
 */
final class MigrationWatch implements MeshStateMachine.AppliedListener {
    private final ClusterNode node;
    private final String migrationId;
    private final StreamObserver<MigrationProgress> out;
    private Migration lastSent;
    private boolean done;

    private MigrationWatch(ClusterNode node, String migrationId, StreamObserver<MigrationProgress> out) {
        this.node = node;
        this.migrationId = migrationId;
        this.out = out;
    }

    static void start(ClusterNode node, String migrationId, StreamObserver<MigrationProgress> out) {
        MigrationWatch watch = new MigrationWatch(node, migrationId, out);
        if (out instanceof ServerCallStreamObserver<MigrationProgress> server) {
            server.setOnCancelHandler(watch::stop);
        }
        node.stateMachine().addListener(watch);
        watch.push(node.lastAppliedIndex());
    }

    @Override
    public void onApplied(long index, Command command, CommandResult result) {
        if (result.getApplied()) push(index);
    }

    @Override
    public void onReset(long index) {
        push(index);
    }

    private synchronized void push(long index) {
        if (done) return;
        Migration now = node.read(s -> s.migration(migrationId).orElse(null));
        if (now == null || now.equals(lastSent)) return;
        lastSent = now;
        try {
            out.onNext(MigrationProgress.newBuilder().setMigration(now).setLogIndex(index).build());
        } catch (io.grpc.StatusRuntimeException cancelled) {
            // The watcher went away between two entries: nothing left to send to.
            stop();
            return;
        }
        if (MigrationPhases.isTerminal(now.getPhase())) {
            done = true;
            node.stateMachine().removeListener(this);
            out.onCompleted();
        }
    }

    private synchronized void stop() {
        done = true;
        node.stateMachine().removeListener(this);
    }
}
