package org.migrationmesh.agent.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A lazy (post-copy) checkpoint in progress. CRIU writes the images without memory pages,
 * reports that on the status fd, and then serves pages from its page server until the
 * destination's {@code criu lazy-pages} has pulled them all; only then does the source
 * container go away.
 *
 * <p>If nobody pulls the pages, CRIU would wait forever: {@link #awaitCompletion} kills the
 * {@code criu} child (not runc) at the deadline, and the container resumes on the source.
 */
public final class LazyCheckpoint implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LazyCheckpoint.class);
    private static final int STATUS_FD = 3;

    private final Runc runc;
    private final String id;
    private final CheckpointOptions options;
    private final Process process;
    private final List<String> argv;
    private final Path runcLog;
    private final Path stderr;
    private final Path fifo;
    private final RandomAccessFile statusReader;
    private final CgroupFreezer frozen;
    private final CompletableFuture<Integer> statusByte;
    private final long startNanos = System.nanoTime();

    private LazyCheckpoint(Runc runc, String id, CheckpointOptions options, Process process, List<String> argv,
                           Path runcLog, Path stderr, Path fifo, RandomAccessFile statusReader, CgroupFreezer frozen) {
        this.runc = runc;
        this.frozen = frozen;
        this.id = id;
        this.options = options;
        this.process = process;
        this.argv = argv;
        this.runcLog = runcLog;
        this.stderr = stderr;
        this.fifo = fifo;
        this.statusReader = statusReader;
        this.statusByte = CompletableFuture.supplyAsync(this::readStatus, r -> {
            Thread t = new Thread(r, "lazy-status-" + id);
            t.setDaemon(true);
            t.start();
        });
    }

    /** A free loopback port for a lazy checkpoint's page server (it listens on this host only). */
    public static int freePageServerPort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** {@code frozen}: the container's cgroup, frozen ahead of CRIU (thawed if the dump is aborted), or null. */
    static LazyCheckpoint start(Runc runc, CommandRunner runner, String id, CheckpointOptions options, String pageServer,
                                CgroupFreezer frozen) {
        Path fifo = options.workPath().resolve("status.fifo");
        Path runcLog = runc.newLogFile(id, Phase.LAZY_CHECKPOINT);
        Path stderr = options.workPath().resolve("lazy-checkpoint.stderr");
        List<String> runcArgv = new ArrayList<>(runc.globalArgs(runcLog));
        runcArgv.addAll(options.args(id));
        // --lazy-pages, --page-server and --status-fd go before the container id.
        runcArgv.addAll(runcArgv.size() - 1, List.of("--lazy-pages", "--page-server", pageServer,
                "--status-fd", Integer.toString(STATUS_FD)));
        // runc takes the status fd as a number: the only shell here opens the FIFO on fd 3.
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", "exec \"$@\" " + STATUS_FD + ">\"$MM_STATUS_FIFO\"", "sh"));
        argv.addAll(runcArgv);
        RandomAccessFile reader = null;
        try {
            Files.deleteIfExists(fifo);
            CommandRunner.Execution mk = runner.run(Command.of(Duration.ofSeconds(10), List.of("mkfifo", fifo.toString())));
            if (!mk.succeeded()) throw new IOException("mkfifo " + fifo + ": " + mk.stderr());
            // Opened read-write so that neither side blocks in open(); we only read.
            reader = new RandomAccessFile(fifo.toFile(), "rw");
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .redirectInput(new java.io.File("/dev/null"))
                    .redirectOutput(stderr.toFile())
                    .redirectError(stderr.toFile());
            pb.environment().put("MM_STATUS_FIFO", fifo.toString());
            // The dump's boost ends at CRIU's "post-dump", once the images are written, before it serves the pages.
            pb.environment().putAll(runc.dumpEnv(id, Phase.LAZY_CHECKPOINT, false));
            Process p = pb.start();
            log.debug("lazy checkpoint started id={} pageServer={}", id, pageServer);
            return new LazyCheckpoint(runc, id, options, p, argv, runcLog, stderr, fifo, reader, frozen);
        } catch (IOException e) {
            closeQuietly(reader);
            throw new RuntimeFailure(id, Phase.LAZY_CHECKPOINT, "cannot start lazy checkpoint: " + e.getMessage(), e);
        }
    }

    /**
     * Waits until CRIU has written the images and its page server listens. The images in
     * {@code options.imagePath()} may then be copied to the destination.
     */
    public void awaitImagesWritten(Duration timeout) {
        try {
            // Whichever comes first: the status byte, or runc/CRIU exiting without writing it.
            CompletableFuture.anyOf(statusByte, process.onExit()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!statusByte.isDone() || statusByte.join() < 0) {
                abort();
                throw failed("CRIU exited before the images were written");
            }
        } catch (TimeoutException e) {
            abort();
            throw failed("the images were not written within " + timeout);
        } catch (ExecutionException | InterruptedException e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            abort();
            throw failed("waiting for the status fd failed: " + e);
        }
        log.debug("lazy checkpoint images written id={} ms={}", id, elapsed().toMillis());
    }

    /**
     * Waits until every page has been pulled and runc has finished. At the deadline it kills
     * CRIU (the container then resumes on the source) and throws.
     */
    public CheckpointResult awaitCompletion(Duration timeout) {
        boolean done;
        try {
            done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw failed("interrupted while the destination pulled pages");
        }
        if (!done) {
            abort();
            throw failed("no lazy-pages client pulled all pages within " + timeout
                    + "; killed CRIU, the container resumes on the source");
        }
        if (process.exitValue() != 0) throw failed(null);
        closeQuietly(statusReader);
        Runc.deleteIfExists(fifo);
        Runc.deleteIfExists(runcLog);
        return new CheckpointResult(id, options.imagePath(), Images.size(options.imagePath()), elapsed(),
                CriuStats.readDump(options.workPath()));
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Kills the CRIU child so that the container resumes, then waits for runc to exit. */
    public void abort() {
        if (process.isAlive()) {
            process.descendants().filter(h -> h.info().command().map(c -> c.endsWith("criu")).orElse(false))
                    .forEach(ProcessHandle::destroyForcibly);
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) ProcessCommandRunner.killTree(process);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ProcessCommandRunner.killTree(process);
            }
        }
        closeQuietly(statusReader);
        Runc.deleteIfExists(fifo);
        // CRIU killed before it seized the tasks leaves the cgroup frozen as the agent froze it.
        if (frozen != null) frozen.thaw();
    }

    @Override
    public void close() {
        abort();
    }

    private Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    private int readStatus() {
        try {
            return statusReader.read();
        } catch (IOException e) {
            return -1;
        }
    }

    private CommandFailure failed(String why) {
        String err = "";
        try {
            err = Files.exists(stderr) ? Files.readString(stderr) : "";
        } catch (IOException ignored) {
            // keep the other context
        }
        int code = process.isAlive() ? CommandFailure.TIMED_OUT : process.exitValue();
        CommandFailure f = runc.failure(id, Phase.LAZY_CHECKPOINT, argv, code, err, runcLog,
                options.workPath().resolve("dump.log"));
        if (why == null) return f;
        CommandFailure withWhy = new CommandFailure(id, Phase.LAZY_CHECKPOINT, argv, code,
                why + (f.stderrTail().isBlank() ? "" : "; " + f.stderrTail()), f.criuLog(), f.criuLogTail());
        return withWhy;
    }

    private static void closeQuietly(RandomAccessFile f) {
        if (f == null) return;
        try {
            f.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
