package org.migrationmesh.transfer;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real CRIU images of a real process: builds the static memhog workload, starts it as its own
 * session leader with stdio on /dev/null, and dumps it with {@code criu dump --leave-running}.
 * Fails (never skips) when root, make/cc or CRIU are missing.
 */
final class RealCheckpoints implements AutoCloseable {
    static final String CRIU = "/usr/local/sbin/criu";
    private final Process memhog;

    private RealCheckpoints(Process memhog) {
        this.memhog = memhog;
    }

    /** Builds memhog into {@code binDir} (from agent/src/main/c) and returns its path. */
    static Path buildMemhog(Path binDir) throws IOException, InterruptedException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("real checkpoints need root (CRIU dump); running as " + System.getProperty("user.name"));
        }
        if (!Files.isExecutable(Path.of(CRIU))) throw new IllegalStateException("CRIU missing at " + CRIU + " (scripts/setup-host.sh)");
        Path src = locateSources();
        Path bin = binDir.resolve("memhog");
        run(List.of("make", "-s", "-C", src.toString(), "OUT=" + binDir.toAbsolutePath(), bin.toAbsolutePath().toString()), 120);
        return bin;
    }

    private static Path locateSources() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("agent/src/main/c/memhog.c");
            if (Files.exists(c)) return c.getParent();
        }
        throw new IllegalStateException("agent/src/main/c/memhog.c not found above " + Path.of("").toAbsolutePath());
    }

    /** Starts {@code memhog MB DIRTY_PAGES_PER_SEC} detached: own session, stdio on /dev/null. */
    static RealCheckpoints start(Path memhog, int megabytes, int dirtyPagesPerSecond) throws IOException, InterruptedException {
        // The JVM's child is no process group leader, so setsid(1) calls setsid() and execs: same pid.
        Process p = new ProcessBuilder("setsid", memhog.toString(), Integer.toString(megabytes), Integer.toString(dirtyPagesPerSecond))
                .redirectInput(new File("/dev/null")).redirectOutput(new File("/dev/null")).redirectError(new File("/dev/null"))
                .start();
        RealCheckpoints c = new RealCheckpoints(p);
        // memhog fills its memory before it settles; wait until its resident size covers it
        long wanted = megabytes * 1024L * 1024L;
        for (int i = 0; i < 600; i++) {
            if (!p.isAlive()) throw new IllegalStateException("memhog exited with " + p.exitValue());
            if (residentBytes(p.pid()) >= wanted) return c;
            Thread.sleep(50);
        }
        c.close();
        throw new IllegalStateException("memhog did not fill " + megabytes + " MB in 30 s");
    }

    private static long residentBytes(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        return 0;
    }

    long pid() {
        return memhog.pid();
    }

    /** {@code criu dump -t PID --leave-running -D dir}; the process keeps running. */
    void dump(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        run(List.of(CRIU, "dump", "-t", Long.toString(pid()), "--leave-running", "-D", dir.toString(), "-o", "dump.log", "-v2"), 120);
    }

    private static void run(List<String> argv, int timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(argv + " did not finish in " + timeoutSeconds + " s");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(argv + " exited " + p.exitValue() + ": " + new String(out));
        }
    }

    /** Pages of round {@code b} whose content differs from round {@code a} at the same address (or is new there). */
    static long changedPages(Path a, Path b) throws IOException {
        java.util.Map<PageKey, Long> before = pageDigests(a);
        long changed = 0;
        for (var e : pageDigests(b).entrySet()) {
            if (!e.getValue().equals(before.get(e.getKey()))) changed++;
        }
        return changed;
    }

    /** Digest of every page of every pages file, by address, as the pagemaps lay them out. */
    static java.util.Map<PageKey, Long> pageDigests(Path dir) throws IOException {
        java.util.Map<PageKey, Long> out = new java.util.HashMap<>();
        List<Path> pagemaps = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.filter(p -> PagemapImage.spaceOf(p.getFileName().toString()).isPresent()).forEach(pagemaps::add);
        }
        for (Path pm : pagemaps) {
            PagemapImage img = PagemapImage.parse(Files.readAllBytes(pm));
            byte[] pages = Files.readAllBytes(dir.resolve(img.pagesFileName()));
            long[] vaddrs = img.pageAddresses(pages.length).orElseThrow(() -> new IllegalStateException("cannot lay out " + pm));
            String space = PagemapImage.spaceOf(pm.getFileName().toString()).orElseThrow();
            for (int i = 0; i < vaddrs.length; i++) out.put(new PageKey(space, vaddrs[i]), PageHash.of(pages, i * 4096));
        }
        return out;
    }

    @Override
    public void close() {
        memhog.destroyForcibly();
        try {
            memhog.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
