package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * A {@code runc restore} started before its images are complete ({@link Runc#startEarlyRestore}):
 * runc runs up to CRIU's restore, which waits at a gate (a directory the agent's {@code mmcriu}
 * watches, woken through a FIFO there) until {@link #open()}; {@link #abort()} ends it instead, and runc fails. Measured
 * here, runc's part before CRIU restores anything is ~25 ms of a ~55 ms restore: it then
 * overlaps the final image's transfer instead of following it.
 */
public final class EarlyRestore implements AutoCloseable {
    /** The file in the gate directory that lets CRIU's restore go on. */
    static final String OPEN = "open";
    /** The file in the gate directory that ends the restore. */
    static final String ABORT = "abort";
    /** The FIFO in the gate directory that mmcriu waits on: a byte written there makes it look at the gate. */
    static final String WAKE = "wake";

    private final String id;
    private final Path gate;
    private final CompletableFuture<RestoreResult> result;
    private final long startedAt = System.nanoTime();
    private volatile long openedAt;

    private EarlyRestore(String id, Path gate, CompletableFuture<RestoreResult> result) {
        this.id = id;
        this.gate = gate;
        this.result = result;
    }

    static EarlyRestore start(String id, Path gate, Supplier<RestoreResult> restore) {
        CompletableFuture<RestoreResult> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(restore.get());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "early-restore-" + id);
        t.setDaemon(true);
        t.start();
        return new EarlyRestore(id, gate, result);
    }

    /** Makes {@code gate} an empty directory but for what an earlier attempt may have left there. */
    static void prepareGate(String id, Path gate) {
        try {
            Files.createDirectories(gate);
            Files.deleteIfExists(gate.resolve(OPEN));
            Files.deleteIfExists(gate.resolve(ABORT));
        } catch (IOException e) {
            throw new RuntimeFailure(id, Phase.RESTORE, "cannot prepare the restore's gate " + gate + ": " + e, e);
        }
    }

    /** The images are complete: CRIU restores from them now. */
    public void open() {
        openedAt = System.nanoTime();
        mark(OPEN);
    }

    /** Ends the restore before CRIU restores anything (runc then fails and removes what it made). */
    public void abort() {
        if (openedAt == 0) mark(ABORT);
    }

    /** Whether runc has returned (or failed) already, e.g. before the gate opened. */
    public boolean isDone() {
        return result.isDone();
    }

    /**
     * Waits for runc to return after {@link #open()}; its result, or its failure (a
     * {@link CommandFailure} or {@link RuntimeFailure}) thrown. {@link RestoreResult#elapsed()}
     * counts from the gate's opening, not from runc's start.
     */
    public RestoreResult await(Duration timeout) {
        RestoreResult r;
        try {
            r = result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw new RuntimeFailure(id, Phase.RESTORE, "interrupted while waiting for the restore", e);
        } catch (TimeoutException e) {
            abort();
            throw new RuntimeFailure(id, Phase.RESTORE, "the restore did not end within " + timeout, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new CompletionException(e.getCause());
        }
        long from = openedAt == 0 ? startedAt : openedAt;
        return new RestoreResult(r.containerId(), r.pid(), Duration.ofNanos(Math.min(r.elapsed().toNanos(), System.nanoTime() - from)),
                r.stats());
    }

    /** How long runc had run when the gate opened (its part done ahead, if it was done by then). */
    public Duration aheadOfOpening() {
        return Duration.ofNanos(openedAt == 0 ? 0 : openedAt - startedAt);
    }

    /** Aborts a restore whose gate never opened and waits for runc to give up. */
    @Override
    public void close() {
        if (openedAt != 0) return;
        abort();
        try {
            result.get(30, TimeUnit.SECONDS);
        } catch (Exception expected) {
            // runc failed because of the abort, as it should
        }
    }

    private void mark(String name) {
        try {
            Files.createFile(gate.resolve(name));
        } catch (FileAlreadyExistsException e) {
            // marked already
        } catch (IOException e) {
            throw new RuntimeFailure(id, Phase.RESTORE, "cannot mark the restore's gate " + gate.resolve(name) + ": " + e, e);
        }
        wake();
    }

    /**
     * Wakes mmcriu, which looks at the gate then. Opened for reading and writing, the FIFO never
     * blocks, whether mmcriu holds it open or not; none yet: mmcriu has not looked at the gate,
     * and will see the mark when it does.
     */
    private void wake() {
        try (SeekableByteChannel fifo = Files.newByteChannel(gate.resolve(WAKE), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            fifo.write(ByteBuffer.wrap(new byte[] {1}));
        } catch (NoSuchFileException e) {
            // mmcriu is not waiting yet
        } catch (IOException e) {
            // it sees the mark within a second anyway
        }
    }
}
