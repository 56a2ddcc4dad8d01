package org.migrationmesh.cluster;

import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.migrationmesh.proto.cluster.ClusterSnapshot;
import org.migrationmesh.proto.cluster.Command;
import org.migrationmesh.proto.cluster.CommandResult;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * The Ratis edge of {@link ClusterState}: log entries in, results out, snapshots on disk.
 *
 * <ul>
 *   <li>{@link #startTransaction} runs on the leader only: it stamps the command with the leader's
 *       clock, so time is part of the log and {@code apply} never reads a clock.</li>
 *   <li>{@link #applyTransaction} applies the entry to the pure state; a refusal is a normal
 *       {@link CommandResult} (an exception would stop the server).</li>
 *   <li>Snapshots are a {@link ClusterSnapshot} written to a temporary name, synced, renamed to
 *       {@code snapshot.<term>_<index>}, then checksummed (MD5 file) through
 *       {@link SimpleStateMachineStorage}; they are loaded at start and when the leader installs one.</li>
 * </ul>
 * Ratis shades protobuf: messages cross the boundary as bytes.
 */
public final class MeshStateMachine extends BaseStateMachine {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MeshStateMachine.class);
    /** Called on the apply thread after each entry, outside the state lock; must be quick. */
    public interface AppliedListener {
        void onApplied(long index, Command command, CommandResult result);

        /** The whole state was replaced (snapshot loaded) at this index. */
        default void onReset(long index) {}
    }

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Clock clock;
    private final ClusterState state = new ClusterState();
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final Object appliedMonitor = new Object();
    private final List<AppliedListener> listeners = new CopyOnWriteArrayList<>();

    /** @param clock the clock the leader stamps commands with */
    public MeshStateMachine(Clock clock) {
        this.clock = clock;
    }

    public void addListener(AppliedListener listener) {
        listeners.add(listener);
    }

    public void removeListener(AppliedListener listener) {
        listeners.remove(listener);
    }

    /** Runs a read-only query against this replica's state; the query must copy what it keeps. */
    public <T> T read(Function<ClusterState, T> query) {
        lock.readLock().lock();
        try {
            return query.apply(state);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Waits until this replica has applied {@code index}; false on timeout. */
    public boolean awaitApplied(long index, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (appliedMonitor) {
            while (getLastAppliedTermIndex().getIndex() < index) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                appliedMonitor.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        getLifeCycle().transition(LifeCycle.State.STARTING);
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        load(storage.getLatestSnapshot());
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    /** Ratis pauses the state machine before it installs a snapshot received from the leader. */
    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    /** Loads the snapshot the leader installed, then resumes. */
    @Override
    public void reinitialize() throws IOException {
        load(storage.loadLatestSnapshot());
        getLifeCycle().transition(LifeCycle.State.STARTING);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    @Override
    public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
        Command command = Command.parseFrom(request.getMessage().getContent().toByteArray());
        if (command.getKindCase() == Command.KindCase.KIND_NOT_SET) {
            throw new IOException("refusing a command without kind from client " + request.getClientId());
        }
        Command stamped = command.toBuilder().setTimeMillis(clock.millis()).build();
        return TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request)
                .setLogData(ByteString.copyFrom(stamped.toByteArray())).build();
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        Command command;
        try {
            command = Command.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new ClusterException(
                    "log entry " + entry.getIndex() + " is not a cluster command", e));
        }
        CommandResult result;
        lock.writeLock().lock();
        try {
            result = state.apply(command).toBuilder().setLogIndex(entry.getIndex()).build();
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        } finally {
            lock.writeLock().unlock();
        }
        signalApplied();
        for (AppliedListener l : listeners) {
            try {
                l.onApplied(entry.getIndex(), command, result);
            } catch (RuntimeException e) {
                // A broken observer must not stop the replica; the entry is applied regardless.
                log.warn("listener failed index={} listener={}", entry.getIndex(), l, e);
            }
        }
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(result.toByteArray())));
    }

    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        super.notifyTermIndexUpdated(term, index);
        signalApplied();
    }

    @Override
    public long takeSnapshot() throws IOException {
        ClusterSnapshot snapshot;
        TermIndex last;
        lock.readLock().lock();
        try {
            last = getLastAppliedTermIndex();
            snapshot = state.toSnapshot().toBuilder()
                    .setLastAppliedTerm(last.getTerm()).setLastAppliedIndex(last.getIndex()).build();
        } finally {
            lock.readLock().unlock();
        }
        File target = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        File tmp = new File(target.getParentFile(), target.getName() + ".writing");
        try (FileOutputStream fos = new FileOutputStream(tmp); OutputStream out = fos) {
            snapshot.writeTo(out);
            out.flush();
            fos.getFD().sync();
        }
        Files.move(tmp.toPath(), target.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(target);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(target.toPath(), md5), last));
        return last.getIndex();
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) return;
        File file = snapshot.getFile().getPath().toFile();
        if (!file.exists()) return;
        if (snapshot.getFile().getFileDigest() != null) {
            MD5FileUtil.verifySavedMD5(file, snapshot.getFile().getFileDigest());
        }
        ClusterSnapshot loaded = ClusterSnapshot.parseFrom(Files.readAllBytes(file.toPath()));
        lock.writeLock().lock();
        try {
            state.restore(loaded);
            setLastAppliedTermIndex(snapshot.getTermIndex());
        } finally {
            lock.writeLock().unlock();
        }
        signalApplied();
        for (AppliedListener l : listeners) {
            try {
                l.onReset(snapshot.getIndex());
            } catch (RuntimeException e) {
                log.warn("listener failed on snapshot load index={} listener={}", snapshot.getIndex(), l, e);
            }
        }
    }

    private void signalApplied() {
        synchronized (appliedMonitor) {
            appliedMonitor.notifyAll();
        }
    }
}
