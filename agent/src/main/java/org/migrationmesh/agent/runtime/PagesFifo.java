package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One pages image of a final dump taken from CRIU through a FIFO into pages allocated while the
 * container still runs ({@code agent/src/main/c/mmpages.c}): CRIU's write of the image, a page
 * allocated per 4 KiB page of a fresh tmpfs file, leaves the container's frozen time, and the
 * copy into the pages, allocated and written beforehand, runs beside the rest of the dump. The
 * file at the image's path is whole-size from CRIU's first write: {@link #written} says how much
 * of it is the image, until the end, when it is cut to that. {@link #start} before the dump
 * (the FIFO takes the image's path, and CRIU's work directory gets the helper's pid, for the
 * action script that waits for it on "post-dump"); {@link #finish} once CRIU has closed its pages
 * images ("post-dump", or the dump returned); {@link #close} in any case.
 */
public final class PagesFifo implements AutoCloseable {
    /** The FIFO's capacity asked for: more than the kernel's default (64 KiB) lets CRIU hand over its pages without waiting. */
    static final long PIPE_BYTES = 16L << 20;
    private static final Duration READY = Duration.ofSeconds(10);
    /** How long {@link #finish} waits for the helper: the copy of a few GiB, had the action script not waited already. */
    private static final Duration FINISH = Duration.ofSeconds(60);

    private final String containerId;
    private final Process mmpages;
    private final Path fifo, target, pidFile, doneFile, progressFile, stdout, stderr;
    private String account;
    private java.nio.MappedByteBuffer progress; // mapped on first look

    private PagesFifo(String containerId, Process mmpages, Path fifo, Path target, Path workDir, int pagesId, Path stdout,
                      Path stderr) {
        this.containerId = containerId;
        this.mmpages = mmpages;
        this.fifo = fifo;
        this.target = target;
        this.pidFile = workDir.resolve("pages-fill-" + pagesId + ".pid");
        this.doneFile = workDir.resolve("pages-fill-" + pagesId + ".done");
        this.progressFile = workDir.resolve("pages-fill-" + pagesId + ".progress");
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /**
     * The bytes to allocate for the pages image of a process whose {@code /proc/PID/smaps_rollup}
     * is {@code smapsRollup}: its anonymous memory (what a dump writes: private pages present, a
     * file mapping's only where written), an eighth more and 1 MiB for what it adds until the freeze,
     * in whole pages. Empty if the text has no "Anonymous:" line.
     */
    public static Optional<Long> allocationFor(String smapsRollup) {
        for (String line : smapsRollup.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].equals("Anonymous:")) {
                long bytes;
                try {
                    bytes = Long.parseLong(f[1]) * 1024;
                } catch (NumberFormatException e) {
                    return Optional.empty();
                }
                long padded = bytes + bytes / 8 + (1L << 20);
                return Optional.of((padded + 4095) / 4096 * 4096);
            }
        }
        return Optional.empty();
    }

    /**
     * Starts {@code mmpages} for pages image {@code pagesId} of the dump into {@code imageDir},
     * with CRIU's work directory {@code workDir} (both on one file system, which must support
     * fallocate: tmpfs does), and {@code bytes} allocated; returns once the FIFO is in place and the
     * pages allocated. Throws {@link RuntimeFailure} (phase checkpoint) if it cannot, with nothing
     * left behind.
     */
    public static PagesFifo start(CommandRunner runner, Path mmpages, String containerId, Path imageDir, Path workDir,
                                  int pagesId, long bytes) {
        return start(runner, mmpages, containerId, imageDir, workDir, pagesId, bytes, Map.of());
    }

    /** As above, with {@code env} added to mmpages' environment (tests: MM_PAGES_FAIL). */
    static PagesFifo start(CommandRunner runner, Path mmpages, String containerId, Path imageDir, Path workDir,
                           int pagesId, long bytes, Map<String, String> env) {
        Path fifo = imageDir.resolve("pages-" + pagesId + ".img");
        Path target = workDir.resolve("pages-" + pagesId + ".img.filling");
        Path stdout = workDir.resolve("pages-fill-" + pagesId + ".stdout");
        Path stderr = workDir.resolve("pages-fill-" + pagesId + ".stderr");
        List<String> argv = List.of(mmpages.toString(), fifo.toString(), target.toString(), workDir.toString(),
                Integer.toString(pagesId), Long.toString(bytes), Long.toString(PIPE_BYTES));
        Process p;
        try {
            Files.createDirectories(imageDir);
            Files.createDirectories(workDir);
            for (String suffix : List.of(".pid", ".done", ".progress", ".stdout", ".stderr")) {
                Files.deleteIfExists(workDir.resolve("pages-fill-" + pagesId + suffix)); // an earlier attempt's
            }
            p = runner.start(new Command(argv, Duration.ofDays(1), false, env), stdout, stderr);
        } catch (IOException e) {
            throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "could not start " + argv + ": " + e.getMessage(), e);
        }
        PagesFifo taken = new PagesFifo(containerId, p, fifo, target, workDir, pagesId, stdout, stderr);
        p.onExit().thenRun(taken::unblock);
        long deadline = System.nanoTime() + READY.toNanos();
        while (!read(stdout).startsWith("ready")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                String said = read(stderr).strip();
                taken.close();
                throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "mmpages did not get ready to take " + fifo
                        + (said.isEmpty() ? " within " + READY : ": " + said));
            }
            LockSupport.parkNanos(200_000);
        }
        return taken;
    }

    /** The name of the pages image this takes (pages-ID.img). */
    public String imageName() {
        return fifo.getFileName().toString();
    }

    /**
     * The bytes of the image copied so far (mmpages' progress word): the file at the image's path
     * is made whole-size beforehand, so its size does not say it. 0 if the word cannot be read.
     */
    public long written() {
        try {
            java.nio.MappedByteBuffer word;
            synchronized (this) {
                if (progress == null) {
                    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(progressFile)) {
                        progress = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, Long.BYTES);
                        progress.order(java.nio.ByteOrder.nativeOrder());
                    }
                }
                word = progress;
            }
            return word.getLong(0);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** What mmpages said as it got ready: the FIFO's capacity, the bytes allocated, and how long that took. */
    public String readiness() {
        return read(stdout).lines().findFirst().orElse("").replaceFirst("^ready ", "");
    }

    /**
     * Once CRIU has closed its pages images: waits until mmpages has put the whole image at its
     * path (or removed the FIFO, if the dump had no image of its id) and returns its account
     * ({@code ok BYTES us=N}: the copy's time from CRIU's first write; or {@code unused}). Throws
     * {@link RuntimeFailure} if it failed: the image is incomplete. Idempotent.
     */
    public synchronized String finish() {
        if (account != null) return account;
        // Told by the action script on "post-dump", normally; told here if the dump ran without it.
        if (mmpages.isAlive() && !Files.exists(doneFile)) signal("-USR1");
        long deadline = System.nanoTime() + FINISH.toNanos();
        while (!Files.exists(doneFile) && mmpages.isAlive() && System.nanoTime() < deadline) LockSupport.parkNanos(100_000);
        String done = read(doneFile).strip();
        if (!done.startsWith("ok ") && !done.equals("unused")) {
            String said = read(stderr).strip();
            close();
            throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "mmpages did not take " + fifo + " whole: "
                    + (done.isEmpty() ? said.isEmpty() ? "no answer within " + FINISH : said : done));
        }
        account = done;
        return account;
    }

    /**
     * Ends mmpages if it still runs (a CRIU still writing to the FIFO then fails its dump), and
     * removes what it leaves: the FIFO if still at the image's path, the unfilled file, its pid, done and
     * output files. A pages file already put at the image's path stays: it is the image's.
     */
    @Override
    public synchronized void close() {
        if (mmpages.isAlive()) {
            mmpages.destroy(); // SIGTERM: it removes the FIFO and its file, says "failed" and exits
            try {
                if (!mmpages.waitFor(2, TimeUnit.SECONDS)) mmpages.destroyForcibly();
            } catch (InterruptedException e) {
                mmpages.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        if (isFifo(fifo)) deleteQuietly(fifo);
        for (Path p : List.of(target, pidFile, doneFile, progressFile, stdout, stderr)) deleteQuietly(p);
    }

    /**
     * mmpages ended: if it did not finish (killed: the OOM killer, say), no reader is left on the
     * FIFO, and a CRIU that opens it would wait for one forever, with the container frozen. The
     * FIFO then goes from the image's path (CRIU writes the image itself), and so does its pid file
     * (the action script waits for no pages of it); a CRIU already waiting in its open is let
     * through by a reader that leaves at once: its first write fails (no reader), and so does its
     * dump, which resumes the container.
     */
    private void unblock() {
        if (Files.exists(doneFile) || !isFifo(fifo)) return;
        try (java.io.RandomAccessFile reader = new java.io.RandomAccessFile(fifo.toFile(), "rw")) { // O_RDWR: never waits
            deleteQuietly(fifo);
        } catch (IOException e) {
            deleteQuietly(fifo);
        }
        // Nothing went through it: the action script has no pages of it to wait for.
        deleteQuietly(pidFile);
    }

    private void signal(String signal) {
        try {
            new ProcessBuilder("kill", signal, Long.toString(mmpages.pid())).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(2, TimeUnit.SECONDS);
        } catch (IOException e) {
            // it is then ended by close(), and finish() fails
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static boolean isFifo(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // in the migration's own directory, removed with it
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
