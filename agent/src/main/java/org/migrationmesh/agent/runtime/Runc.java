package org.migrationmesh.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The runc client of one agent: one method per runc verb, every call with a deadline, and
 * failures as {@link CommandFailure} carrying argv, exit code, runc's error and CRIU's log tail.
 * Fields ({@link RuncConfig}) apply to every call; per-call options are records with pure
 * argv builders.
 */
public final class Runc {
    private static final Logger log = LoggerFactory.getLogger(Runc.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TAIL_LINES = 15;

    /**
     * How many nice steps ahead of the host's other work CRIU and runc run while a final dump
     * holds the container frozen, from CRIU's "pre-dump" action to its "post-dump" (only for a
     * container whose bundle gives CRIU the agent's action script, which does it: see
     * agent/src/main/c/mmfreeze.c). A lazy dump ({@link LazyCheckpoint}) gets it too, until its
     * images are written, not while it serves the pages; a pre-dump, which runs beside the live
     * container, is left as it is. Measured on the tour's two cores (Strasbourg/Stuttgart legs,
     * runs with and without interleaved, medians): pre-copy, CRIU frozen 59 → 44 ms and the
     * client's gap 148.5 → 138 ms; pre+post-copy, the gap 152.5 → 138.5 ms (the agent's time to
     * the images written unchanged, 81 against 83 ms, so partly noise). Tried and not kept: the
     * same for CRIU's restore (no change).
     */
    static final int DUMP_BOOST = 15;

    /**
     * Nice steps behind the host's other work for CRIU's and runc's teardown once a final dump's
     * images are written (CRIU ending the dumped tasks and exiting, runc removing the container),
     * when nothing waits for runc's return (no TCP sockets, so the address left at the freeze):
     * on a machine whose cores the hosts share, the teardown otherwise competed with the sending of
     * the final image and the restore. A lazy dump's CRIU, which serves the pages then, is left as it is.
     * Measured on the tour (interleaved, 4 runs of 10 Strasbourg/Stuttgart pre-copy legs each way,
     * first leg of each run left out): client gap mean 121.4 → 114.4 ms, median 124 → 114, every
     * step after the images a little shorter (the source's transfer 32 → 29.5 ms, the restore's
     * runc 41 → 39, medians).
     */
    static final int TEARDOWN_NICE = 19;

    /** runc's record of a container's stdio in a dump's images ({@link #externalDescriptors}), read before CRIU restores. */
    public static final String DESCRIPTORS = "descriptors.json";

    private final RuncConfig config;
    private final CommandRunner runner;
    private final AtomicLong callSeq = new AtomicLong();
    private final Map<String, Path> helpers = new java.util.HashMap<>(); // installed helper programs; guarded by this

    public Runc(RuncConfig config, CommandRunner runner) {
        this.config = config;
        this.runner = runner;
        try {
            Files.createDirectories(config.root());
            Files.createDirectories(config.logDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create runc root " + config.root() + " or log dir " + config.logDir(), e);
        }
    }

    public RuncConfig config() {
        return config;
    }

    /** Starts the container in {@code bundle} detached; its stdio is /dev/null. Returns its state. */
    public ContainerState run(String id, Path bundle) {
        Bundles.check(id, bundle);
        Path pidFile = config.logDir().resolve(id + ".pid");
        call(id, Phase.RUN, config.commandTimeout(), true, null,
                List.of("run", "--detach", "--bundle", bundle.toString(), "--pid-file", pidFile.toString(), id));
        return state(id);
    }

    public ContainerState state(String id) {
        String out = call(id, Phase.STATE, config.commandTimeout(), false, null, List.of("state", id)).stdout();
        return parseState(id, out);
    }

    /** The container's state, or empty if runc does not know it. */
    public Optional<ContainerState> find(String id) {
        return list().stream().filter(s -> s.id().equals(id)).findFirst();
    }

    /**
     * The container's stdio as runc recorded it when it started (or restored) it, as the JSON
     * array runc writes into a dump's {@code descriptors.json} and reads again on restore; empty
     * if runc's state does not say. Read from runc's state file ({@code ROOT/ID/state.json},
     * "external_descriptors", kept by runc 1.0 to 1.3), which no runc command prints.
     */
    public Optional<byte[]> externalDescriptors(String id) {
        Path state = stateDir(id).resolve("state.json");
        try {
            JsonNode fds = JSON.readTree(state.toFile()).path("external_descriptors");
            return fds.isArray() && fds.size() > 0 ? Optional.of(JSON.writeValueAsBytes(fds)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public List<ContainerState> list() {
        String out = call(null, Phase.LIST, config.commandTimeout(), false, null, List.of("list", "--format", "json")).stdout();
        try {
            JsonNode arr = JSON.readTree(out.isBlank() ? "[]" : out);
            List<ContainerState> states = new ArrayList<>();
            if (arr != null && arr.isArray()) arr.forEach(n -> states.add(toState(n)));
            return states;
        } catch (IOException e) {
            throw new RuntimeFailure(null, Phase.LIST, "runc list printed unreadable JSON: " + out, e);
        }
    }

    /** Host pids of every process in the container. */
    public List<Integer> ps(String id) {
        String out = call(id, Phase.STATE, config.commandTimeout(), false, null, List.of("ps", "--format", "json", id)).stdout();
        try {
            List<Integer> pids = new ArrayList<>();
            JSON.readTree(out.isBlank() ? "[]" : out).forEach(n -> pids.add(n.asInt()));
            return pids;
        } catch (IOException e) {
            throw new RuntimeFailure(id, Phase.STATE, "runc ps printed unreadable JSON: " + out, e);
        }
    }

    public void kill(String id, String signal) {
        call(id, Phase.KILL, config.commandTimeout(), false, null, List.of("kill", id, signal));
    }

    public void delete(String id, boolean force) {
        List<String> args = force ? List.of("delete", "--force", id) : List.of("delete", id);
        call(id, Phase.DELETE, config.commandTimeout(), false, null, args);
    }

    /**
     * Dumps the container into {@code options.imagePath()}. A stop-and-copy dump ends the
     * container; with {@code leaveRunning} or {@code preDump} it keeps running. If the dump
     * fails, CRIU resumes the container and this throws.
     */
    public CheckpointResult checkpoint(String id, CheckpointOptions options) {
        return checkpoint(id, options, null);
    }

    /**
     * As {@link #checkpoint(String, CheckpointOptions)}, and calls {@code imagesWritten} (once,
     * from another thread) as soon as the images are complete: CRIU runs the agent's action
     * script on "post-dump", before it ends the dumped tasks, writes its stats and exits, and
     * before runc tears the container down (5-15 ms here), and the script leaves
     * {@value CriuConfig#IMAGES_WRITTEN} in CRIU's work directory. Without the script (or a
     * null {@code imagesWritten}) it is not called; the dump is then known complete only on return.
     */
    public CheckpointResult checkpoint(String id, CheckpointOptions options, Runnable imagesWritten) {
        return checkpoint(id, options, null, imagesWritten);
    }

    /**
     * As {@link #checkpoint(String, CheckpointOptions, Runnable)}, and calls {@code frozenNow}
     * first (once, from another thread) when the action script has frozen the container ("pre-dump",
     * {@value CriuConfig#FROZEN}): nothing in it runs from then on. Not called without the script.
     */
    public CheckpointResult checkpoint(String id, CheckpointOptions options, Runnable frozenNow, Runnable imagesWritten) {
        Phase phase = options.preDump() ? Phase.PRE_DUMP : Phase.CHECKPOINT;
        prepareDirs(id, phase, options.imagePath(), options.workPath());
        Optional<CgroupFreezer> frozen = freeze(id, !options.preDump());
        CommandRunner.Execution ex;
        java.util.LinkedHashMap<String, Runnable> markers = new java.util.LinkedHashMap<>();
        if (frozenNow != null) markers.put(CriuConfig.FROZEN, frozenNow);
        if (imagesWritten != null) markers.put(CriuConfig.IMAGES_WRITTEN, imagesWritten);
        Thread watch = markers.isEmpty() ? null : CriuConfig.watchMarkers(options.workPath(), markers);
        try {
            ex = call(id, phase, config.checkpointTimeout(), false,
                    options.workPath().resolve(options.preDump() ? "pre-dump.log" : "dump.log"), options.args(id),
                    config.criu(), dumpEnv(id, phase, options.teardownBehind()));
        } finally {
            if (watch != null) watch.interrupt();
            // A dump that failed or left the container running leaves its cgroup frozen again.
            frozen.ifPresent(CgroupFreezer::thaw);
        }
        return new CheckpointResult(id, options.imagePath(), Images.size(options.imagePath()),
                Duration.ofNanos(ex.elapsedNanos()), CriuStats.readDump(options.workPath()));
    }

    /**
     * Starts a lazy (post-copy) checkpoint: CRIU writes the images without the memory pages,
     * then serves pages from {@code pageServer} until the destination has pulled them all.
     */
    public LazyCheckpoint startLazyCheckpoint(String id, CheckpointOptions options, String pageServer) {
        prepareDirs(id, Phase.LAZY_CHECKPOINT, options.imagePath(), options.workPath());
        Optional<CgroupFreezer> frozen = freeze(id, true);
        try {
            return LazyCheckpoint.start(this, runner, id, options, pageServer, frozen.orElse(null));
        } catch (RuntimeException e) {
            frozen.ifPresent(CgroupFreezer::thaw);
            throw e;
        }
    }

    /**
     * Freezes the container's cgroup ahead of CRIU (see {@link CgroupFreezer}): the process
     * keeps running until this call, which takes about a millisecond, not CRIU's 100 ms step.
     * A container whose bundle gives CRIU the agent's action script is frozen by that script
     * instead; either way the returned handle thaws the cgroup after a dump that leaves it
     * frozen (failed, or leaving the container running).
     */
    private Optional<CgroupFreezer> freeze(String id, boolean freezeHere) {
        Optional<ContainerState> s = find(id);
        if (s.isEmpty() || !s.get().running()) return Optional.empty(); // runc says why it cannot dump it
        if (!freezeHere || hasCriuConfig(s.get().bundle())) {
            // Its CRIU action script (mmfreeze) freezes the cgroup right before CRIU seizes the
            // tasks, later than here: runc's and CRIU's start-up stay out of the freeze.
            return CgroupFreezer.locate(id, s.get().pid());
        }
        long t0 = System.nanoTime();
        Optional<CgroupFreezer> f = CgroupFreezer.freeze(id, s.get().pid(), Duration.ofSeconds(5));
        log.debug("froze the cgroup ahead of CRIU id={} cgroup={} us={}", id, f.map(CgroupFreezer::toString).orElse("none"),
                (System.nanoTime() - t0) / 1000);
        return f;
    }

    /** Restores a container from images into {@code bundle}, detached. */
    public RestoreResult restore(String id, Path bundle, RestoreOptions options) {
        Bundles.check(id, bundle);
        Images.check(id, options.imagePath());
        requireAbsent(id);
        prepareDirs(id, Phase.RESTORE, null, options.workPath());
        return restoreCall(id, bundle, options, config.criu(), Map.of("PATH", criuPath(id, Phase.RESTORE, null)));
    }

    /**
     * Starts {@code runc restore} of {@code id} now, though {@code options.imagePath()} does not
     * hold the images yet (only runc's {@code descriptors.json}, which runc reads first): runc
     * does its part and starts CRIU, whose restore then waits at {@code gateDir} until
     * {@link EarlyRestore#open()} (see agent/src/main/c/mmcriu.c). Fill the image directory
     * first; it is the directory runc opened, so files must be put into it, not the directory
     * replaced.
     */
    public EarlyRestore startEarlyRestore(String id, Path bundle, RestoreOptions options, Path gateDir) {
        Bundles.check(id, bundle);
        requireAbsent(id);
        prepareDirs(id, Phase.RESTORE, options.imagePath(), options.workPath());
        EarlyRestore.prepareGate(id, gateDir);
        Path wrapper = gateWrapper(id);
        Path criu = realCriu(id);
        String path = criuPath(id, Phase.RESTORE, wrapper.getParent());
        // --criu for runc up to 1.1; later ones take criu from PATH
        // mmcriu also gives up when this agent dies: nobody would open its gate then
        Map<String, String> env = Map.of("MM_CRIU", criu.toString(), "MM_CRIU_GATE", gateDir.toString(),
                "MM_CRIU_GATE_MS", Long.toString(config.checkpointTimeout().toMillis()), "PATH", path,
                "MM_CRIU_AGENT", Long.toString(ProcessHandle.current().pid()));
        return EarlyRestore.start(id, gateDir, () -> restoreCall(id, bundle, options, wrapper, env));
    }

    private RestoreResult restoreCall(String id, Path bundle, RestoreOptions options, Path criu, Map<String, String> env) {
        Path pidFile = options.workPath().resolve("restore.pid");
        CommandRunner.Execution ex;
        try {
            ex = call(id, Phase.RESTORE, config.checkpointTimeout(), true, options.workPath().resolve("restore.log"),
                    options.args(id, bundle, pidFile), criu, env);
        } catch (CommandFailure failure) {
            // runc may leave a half-made container behind (there was none: requireAbsent); remove it
            // so a retry starts clean.
            deleteQuietly(id, failure);
            throw failure;
        }
        int pid = readPid(pidFile);
        return new RestoreResult(id, pid, Duration.ofNanos(ex.elapsedNanos()), CriuStats.readRestore(options.workPath()));
    }

    /**
     * Refuses to restore over a container runc already knows by this id (a leftover, or another
     * container): it is not the restore's to replace, nor, when the restore fails, to remove.
     * Looked up as runc's state directory ({@code ROOT/ID}), not with {@code runc list}: a
     * restore is inside a container's downtime.
     */
    private void requireAbsent(String id) {
        if (Files.isDirectory(stateDir(id))) {
            throw new RuntimeFailure(id, Phase.RESTORE, "runc already has a container '" + id + "' (root " + config.root()
                    + "); it is left as it is: delete it first if it is a leftover");
        }
    }

    /** runc's own directory for container {@code id} in its root (its state.json; there while runc knows the container). */
    private Path stateDir(String id) {
        return config.root().resolve(id);
    }

    /**
     * The PATH runc and CRIU run with for a dump or a restore: {@code mmtar} as "tar" first (it
     * writes and reads CRIU's archives of tmpfs mounts itself, plain ustar without gzip, see
     * agent/src/main/c/mmtar.c; an image so dumped needs it to restore, so every dump and restore
     * here gets it), then {@code first} if not null, then the agent's own.
     */
    String criuPath(String id, Phase phase, Path first) {
        Path shim = installed(id, phase, "mmtar", "tar");
        return shim.getParent() + ":" + (first == null ? "" : first + ":")
                + System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    }

    /**
     * The environment of a dump's runc, and so of its CRIU and action script: {@link #criuPath}
     * as PATH and, on a final dump (lazy or not, not a pre-dump), {@link #DUMP_BOOST}; with
     * {@code teardownBehind} on a (not lazy) final dump, {@link #TEARDOWN_NICE}.
     */
    Map<String, String> dumpEnv(String id, Phase phase, boolean teardownBehind) {
        String path = criuPath(id, phase, null);
        if (phase == Phase.PRE_DUMP) return Map.of("PATH", path);
        if (phase == Phase.CHECKPOINT && teardownBehind) {
            return Map.of("PATH", path, "MM_DUMP_BOOST", Integer.toString(DUMP_BOOST), "MM_TEARDOWN_NICE", Integer.toString(TEARDOWN_NICE));
        }
        return Map.of("PATH", path, "MM_DUMP_BOOST", Integer.toString(DUMP_BOOST));
    }

    /** mmcriu as "criu" in a directory of its own (for PATH). */
    private Path gateWrapper(String id) {
        return installed(id, Phase.RESTORE, "mmcriu", "criu");
    }

    /**
     * Helper program {@code workload} installed as {@code name} in a directory of its own next to
     * the logs ({@code <workload>-bin}, for PATH), extracted once per client.
     */
    private synchronized Path installed(String id, Phase phase, String workload, String name) {
        Path p = helpers.get(workload);
        if (p == null) {
            try {
                p = Workloads.extract(workload, config.logDir().resolveSibling(workload + "-bin").resolve(name));
            } catch (IOException e) {
                throw new RuntimeFailure(id, phase, "cannot install " + workload + ": " + e.getMessage(), e);
            }
            helpers.put(workload, p);
        }
        return p;
    }

    /** The real criu binary by its absolute path (a bare name is looked up in PATH). */
    private Path realCriu(String id) {
        Path criu = config.criu();
        if (criu.isAbsolute()) return criu;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir).resolve(criu).toAbsolutePath();
            if (Files.isExecutable(p)) return p;
        }
        throw new RuntimeFailure(id, Phase.RESTORE, "criu binary '" + criu + "' not found in PATH (run scripts/setup-host.sh)");
    }

    /** Whether the bundle gives CRIU a configuration file of its own ({@link BundleWriter#CRIU_CONFIG_ANNOTATION}). */
    /** Whether {@code bundle} names a CRIU configuration file (the agent's: with its action script, mmfreeze). */
    public static boolean hasCriuConfig(Path bundle) {
        if (bundle == null) return false;
        try {
            JsonNode annotations = JSON.readTree(bundle.resolve("config.json").toFile()).path("annotations");
            return annotations.hasNonNull(BundleWriter.CRIU_CONFIG_ANNOTATION);
        } catch (IOException e) {
            return false;
        }
    }

    /** The global options every runc call starts with. */
    List<String> globalArgs(Path logFile) {
        return globalArgs(logFile, config.criu());
    }

    private List<String> globalArgs(Path logFile, Path criu) {
        return List.of(config.runc().toString(), "--root", config.root().toString(), "--log", logFile.toString(),
                "--log-format", "json", "--criu", criu.toString());
    }

    Path newLogFile(String id, Phase phase) {
        String name = (id == null ? "host" : id) + "-" + phase.name().toLowerCase() + "-" + callSeq.incrementAndGet() + ".log";
        return config.logDir().resolve(name);
    }

    private CommandRunner.Execution call(String id, Phase phase, Duration timeout, boolean detachedStdio,
                                         Path criuLog, List<String> args) {
        return call(id, phase, timeout, detachedStdio, criuLog, args, config.criu(), Map.of());
    }

    private CommandRunner.Execution call(String id, Phase phase, Duration timeout, boolean detachedStdio,
                                         Path criuLog, List<String> args, Path criu, Map<String, String> env) {
        Path logFile = newLogFile(id, phase);
        List<String> argv = new ArrayList<>(globalArgs(logFile, criu));
        argv.addAll(args);
        CommandRunner.Execution ex;
        try {
            ex = runner.run(new Command(argv, timeout, detachedStdio, env));
        } catch (IOException e) {
            throw new RuntimeFailure(id, phase, "cannot start " + config.runc() + ": " + e.getMessage()
                    + " (is runc installed? run scripts/setup-host.sh)", e);
        }
        if (!ex.succeeded()) {
            throw failure(id, phase, argv, ex.exitCode(), ex.stderr(), logFile, criuLog);
        }
        log.debug("runc {} id={} ms={}", phase, id, ex.elapsedNanos() / 1_000_000);
        deleteIfExists(logFile);
        return ex;
    }

    CommandFailure failure(String id, Phase phase, List<String> argv, int exitCode, String stderr, Path runcLog,
                           Path criuLog) {
        String reason = RuncLog.errors(runcLog);
        if (reason.isBlank()) reason = Tail.lines(stderr, TAIL_LINES);
        Path criuLogPath = criuLog != null && Files.exists(criuLog) ? criuLog : null;
        return new CommandFailure(id, phase, argv, exitCode, reason, criuLogPath,
                criuLogPath == null ? null : CriuLog.summary(Tail.file(criuLogPath, Integer.MAX_VALUE)));
    }

    private void deleteQuietly(String id, RuntimeException primary) {
        try {
            if (find(id).isPresent()) delete(id, true);
        } catch (RuntimeException e) {
            primary.addSuppressed(e);
        }
    }

    private static void prepareDirs(String id, Phase phase, Path imagePath, Path workPath) {
        try {
            if (imagePath != null) Files.createDirectories(imagePath);
            Files.createDirectories(workPath);
        } catch (IOException e) {
            throw new RuntimeFailure(id, phase, "cannot create image/work directory: " + e, e);
        }
    }

    private static int readPid(Path pidFile) {
        try {
            return Integer.parseInt(Files.readString(pidFile).strip());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    private static ContainerState parseState(String id, String json) {
        try {
            return toState(JSON.readTree(json));
        } catch (IOException e) {
            throw new RuntimeFailure(id, Phase.STATE, "runc state printed unreadable JSON: " + json, e);
        }
    }

    private static ContainerState toState(JsonNode n) {
        return new ContainerState(n.path("id").asText(), n.path("pid").asInt(), n.path("status").asText(),
                Path.of(n.path("bundle").asText("/")));
    }

    static void deleteIfExists(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover log file is harmless
        }
    }

    /** Tails of text and files, for error messages. */
    static final class Tail {
        private Tail() {}

        static String lines(String text, int n) {
            if (text == null) return "";
            List<String> all = text.lines().toList();
            return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
        }

        static String file(Path p, int n) {
            try (Stream<String> s = Files.lines(p)) {
                List<String> all = s.toList();
                return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
            } catch (IOException | UncheckedIOException e) {
                return "(cannot read " + p + ": " + e.getMessage() + ")";
            }
        }
    }
}
