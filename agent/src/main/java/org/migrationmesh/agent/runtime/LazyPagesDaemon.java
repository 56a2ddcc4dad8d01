package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code criu lazy-pages} on the destination: it fills the memory of a lazily restored
 * container, the pages it faults on first, then all the rest, from the source's page server
 * ({@link #start}) or from the image itself ({@link #startLocal}), and exits once every page is
 * in. Start it, wait for its socket, then restore with {@code lazyPages}. It reads the image's
 * process tree (inventory.img, pstree.img) as it starts, the rest as the restore connects.
 */
public final class LazyPagesDaemon implements AutoCloseable {
    private static final Pattern TRANSFERRED = Pattern.compile("UFFD transferred pages: \\((\\d+)/(\\d+)\\)");
    private static final Pattern FAULT = Pattern.compile("uffd: (\\d+)-\\d+: #PF at 0x([0-9a-f]+)");
    private final String id;
    private final Process process;
    private final List<String> argv;
    private final Path logFile;

    private LazyPagesDaemon(String id, Process process, List<String> argv, Path logFile) {
        this.id = id;
        this.process = process;
        this.argv = argv;
        this.logFile = logFile;
    }

    /**
     * Starts the daemon for the images in {@code imageDir}, pulling from the source's page
     * server at {@code address:port}, and waits until it listens in {@code workDir}.
     */
    public static LazyPagesDaemon start(Criu criu, CommandRunner runner, String id, Path imageDir, Path workDir,
                                        String address, int port, Duration readyTimeout) {
        return launch(criu, runner, id, imageDir, workDir,
                List.of("--page-server", "--address", address, "--port", Integer.toString(port)), readyTimeout);
    }

    /**
     * Starts the daemon for the images in {@code imageDir}, which also hold every page, and waits
     * until it listens in {@code workDir}: a restore that runs its tasks before their memory is in.
     */
    public static LazyPagesDaemon startLocal(Criu criu, CommandRunner runner, String id, Path imageDir, Path workDir,
                                             Duration readyTimeout) {
        return launch(criu, runner, id, imageDir, workDir, List.of(), readyTimeout);
    }

    private static LazyPagesDaemon launch(Criu criu, CommandRunner runner, String id, Path imageDir, Path workDir,
                                          List<String> pageSource, Duration readyTimeout) {
        Path logFile = workDir.resolve("lazy-pages.log");
        Path socket = workDir.resolve("lazy-pages.socket");
        List<String> argv = new java.util.ArrayList<>(List.of(criu.binary().toString(), "lazy-pages"));
        argv.addAll(pageSource);
        argv.addAll(List.of("--images-dir", imageDir.toString(), "--work-dir", workDir.toString(),
                "--log-file", logFile.toString(), "-v4"));
        try {
            Files.createDirectories(workDir);
            Files.deleteIfExists(socket);
            Process p = runner.start(new Command(argv, Duration.ofDays(1), false),
                    workDir.resolve("lazy-pages.stdout"), workDir.resolve("lazy-pages.stderr"));
            LazyPagesDaemon d = new LazyPagesDaemon(id, p, argv, logFile);
            long deadline = System.nanoTime() + readyTimeout.toNanos();
            while (!Files.exists(socket)) {
                if (!p.isAlive()) throw d.failure(p.exitValue(), "exited before it listened");
                if (System.nanoTime() > deadline) {
                    d.close();
                    throw d.failure(CommandFailure.TIMED_OUT, "did not listen within " + readyTimeout);
                }
                java.util.concurrent.locks.LockSupport.parkNanos(250_000); // often inside a downtime
                if (Thread.currentThread().isInterrupted()) {
                    d.close();
                    throw new RuntimeFailure(id, Phase.LAZY_PAGES, "interrupted while starting criu lazy-pages");
                }
            }
            return d;
        } catch (IOException e) {
            throw new RuntimeFailure(id, Phase.LAZY_PAGES, "cannot start criu lazy-pages: " + e.getMessage(), e);
        }
    }

    /** What the daemon moved: pages transferred out of the pages the restored tasks had. */
    public record Transferred(Duration elapsed, long pages, long totalPages) {
        public boolean complete() {
            return pages == totalPages;
        }
    }

    /**
     * Waits until every page has been transferred (the daemon exits 0) and returns CRIU's own
     * count of them ("UFFD transferred pages: (N/M)" per restored task, summed).
     */
    public Transferred awaitCompletion(Duration timeout) {
        long start = System.nanoTime();
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                close();
                throw failure(CommandFailure.TIMED_OUT, "did not finish within " + timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new RuntimeFailure(id, Phase.LAZY_PAGES, "interrupted while pages were transferred", e);
        }
        if (process.exitValue() != 0) throw failure(process.exitValue(), "failed");
        long[] counts = transferredPages(Runc.Tail.file(logFile, Integer.MAX_VALUE));
        return new Transferred(Duration.ofNanos(System.nanoTime() - start), counts[0], counts[1]);
    }

    /** Sums CRIU's "UFFD transferred pages: (N/M)" lines; pure. */
    static long[] transferredPages(String log) {
        long done = 0;
        long total = 0;
        Matcher m = TRANSFERRED.matcher(log);
        while (m.find()) {
            done += Long.parseLong(m.group(1));
            total += Long.parseLong(m.group(2));
        }
        return new long[] {done, total};
    }

    /**
     * The pages the restored tasks faulted on, per task (CRIU's pid in the image), first fault
     * first, from the daemon's log ("#PF at"); empty if it has none.
     */
    public Map<String, long[]> faultedPages() {
        return faultedPages(Runc.Tail.file(logFile, Integer.MAX_VALUE));
    }

    /** As {@link #faultedPages()}, from the log's text; pure. */
    static Map<String, long[]> faultedPages(String log) {
        Map<String, java.util.LinkedHashSet<Long>> seen = new java.util.LinkedHashMap<>();
        Matcher m = FAULT.matcher(log);
        while (m.find()) {
            seen.computeIfAbsent(m.group(1), k -> new java.util.LinkedHashSet<>())
                    .add(Long.parseUnsignedLong(m.group(2), 16) & ~0xfffL);
        }
        Map<String, long[]> out = new java.util.LinkedHashMap<>();
        seen.forEach((pid, pages) -> out.put(pid, pages.stream().mapToLong(Long::longValue).toArray()));
        return out;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public Path logFile() {
        return logFile;
    }

    @Override
    public void close() {
        if (process.isAlive()) ProcessCommandRunner.killTree(process);
    }

    private CommandFailure failure(int code, String why) {
        return new CommandFailure(id, Phase.LAZY_PAGES, argv, code, "criu lazy-pages " + why,
                Files.exists(logFile) ? logFile : null, Files.exists(logFile) ? CriuLog.summary(Runc.Tail.file(logFile, Integer.MAX_VALUE)) : null);
    }
}
