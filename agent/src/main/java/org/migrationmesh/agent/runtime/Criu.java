package org.migrationmesh.agent.runtime;

import org.migrationmesh.proto.runtime.RuntimeCapabilities;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CRIU itself: its version and what this kernel lets it do, detected with
 * {@code criu check --feature}, never by scraping help text.
 */
public final class Criu {
    /** Where scripts/setup-host.sh installs CRIU. */
    public static final Path DEFAULT_BINARY = Path.of("/usr/local/sbin/criu");
    /** Older CRIU fails on this kernel line (vDSO bounds; INET sockets on >= 6.16). */
    public static final String MIN_VERSION = "4.2";
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern CRIU_VERSION = Pattern.compile("Version:\\s*(\\S+)");
    private static final Pattern RUNC_VERSION = Pattern.compile("runc version\\s*(\\S+)");

    private final Path binary;
    private final CommandRunner runner;

    public Criu(Path binary, CommandRunner runner) {
        this.binary = binary;
        this.runner = runner;
    }

    public Path binary() {
        return binary;
    }

    /** CRIU's version; fails with what to do if CRIU is missing or older than {@link #MIN_VERSION}. */
    public String requireVersion() {
        CommandRunner.Execution ex = exec(List.of(binary.toString(), "--version"));
        Matcher m = CRIU_VERSION.matcher(ex.stdout());
        if (!ex.succeeded() || !m.find()) {
            throw new RuntimeFailure(null, Phase.CHECK, binary + " --version did not print a version: "
                    + ex.stdout() + ex.stderr());
        }
        String version = m.group(1);
        if (compareVersions(version, MIN_VERSION) < 0) {
            throw new RuntimeFailure(null, Phase.CHECK, "CRIU " + version + " at " + binary + " is older than "
                    + MIN_VERSION + ", which this kernel needs; run scripts/setup-host.sh to build a newer one");
        }
        return version;
    }

    /** Whether {@code criu check --feature NAME} passes. */
    public boolean hasFeature(String name) {
        return exec(List.of(binary.toString(), "check", "--feature", name)).succeeded();
    }

    /** Detects everything once: versions, dirty tracking, userfaultfd. Fails if CRIU is unusable. */
    public RuntimeCapabilities detect(Path runc) {
        String criuVersion = requireVersion();
        CommandRunner.Execution check = exec(List.of(binary.toString(), "check"));
        if (!check.succeeded()) {
            throw new RuntimeFailure(null, Phase.CHECK, "criu check failed: " + Runc.Tail.lines(check.stdout() + check.stderr(), 10));
        }
        CommandRunner.Execution rv = exec(List.of(runc.toString(), "--version"));
        Matcher m = RUNC_VERSION.matcher(rv.stdout());
        if (!rv.succeeded() || !m.find()) {
            throw new RuntimeFailure(null, Phase.CHECK, runc + " --version failed; is runc installed? run scripts/setup-host.sh");
        }
        return RuntimeCapabilities.newBuilder()
                .setCriuVersion(criuVersion)
                .setRuncVersion(m.group(1))
                .setKernelRelease(kernelRelease())
                .setDirtyTracking(hasFeature("mem_dirty_track"))
                .setLazyPages(hasFeature("uffd-noncoop"))
                .build();
    }

    /** Compares dotted versions numerically ("4.10" > "4.2"); non-numeric parts count as 0. */
    static int compareVersions(String a, String b) {
        String[] pa = a.split("[.+~-]");
        String[] pb = b.split("[.+~-]");
        for (int i = 0; i < Math.max(pa.length, pb.length); i++) {
            int x = i < pa.length ? parse(pa[i]) : 0;
            int y = i < pb.length ? parse(pb[i]) : 0;
            if (x != y) return Integer.compare(x, y);
        }
        return 0;
    }

    private static int parse(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private CommandRunner.Execution exec(List<String> argv) {
        try {
            return runner.run(Command.of(CHECK_TIMEOUT, argv));
        } catch (IOException e) {
            throw new RuntimeFailure(null, Phase.CHECK, "cannot run " + argv.get(0) + ": " + e.getMessage()
                    + " (not installed? run scripts/setup-host.sh)", e);
        }
    }
}
