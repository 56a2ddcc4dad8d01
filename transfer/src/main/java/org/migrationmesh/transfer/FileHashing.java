package org.migrationmesh.transfer;

import java.security.MessageDigest;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Updates a running SHA-256 of a file on a thread of its own, in chunk order, so hashing one
 * chunk overlaps with receiving and writing (or reading and sending) the next. At most
 * {@value #MAX_QUEUED} chunks wait; {@link #digest} waits for those of the digest it finishes.
 */
final class FileHashing implements AutoCloseable {
    static final int MAX_QUEUED = 8;
    private final ExecutorService thread;
    private final Semaphore queued = new Semaphore(MAX_QUEUED);

    FileHashing(String name) {
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues {@code bytes} (not to be changed afterwards) for {@code md}. */
    void update(MessageDigest md, byte[] bytes) {
        queued.acquireUninterruptibly();
        thread.execute(() -> {
            try {
                md.update(bytes);
            } finally {
                queued.release();
            }
        });
    }

    /** Completes {@code md} once everything queued before is hashed. */
    byte[] digest(MessageDigest md) {
        Future<byte[]> f = thread.submit((java.util.concurrent.Callable<byte[]>) md::digest);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for a file digest", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("hashing failed", e.getCause());
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
