package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The tmpfs mounts of the containers this host runs ({@link BundleWriter#TMPFS_MOUNTS}: /dev/shm,
 * /tmp), kept on the host at {@code ROOT/CONTAINER/NAME}, each a tmpfs with the container's
 * options, and bound into the container by its bundle ({@link BundleSpec#tmpfsDir}).
 *
 * <p>Why: CRIU archives every tmpfs of a container with a process of its own while the container
 * is frozen, and extracts it so on restore. Measured on the tour (12 legs each), CRIU's mount steps
 * went from ~5 to ~2 ms on dump and from ~6.2 to ~3.8 ms on restore, its freeze to the images
 * written from 33.5 to 27.6 ms (medians), /dev (runc's device nodes, other mounts in it) still its own.
 * A bound mount is runc's to name to CRIU as external, and CRIU leaves its content alone: the
 * agent carries it instead, as {@link #archive} of each mount into the image ({@link #ARCHIVE_PREFIX}
 * files, written and read without a process when they hold only directories, files and links, as
 * they mostly do) and {@link #fill} on the destination, whose mounts were made as the migration
 * started. The source's mounts stay as they
 * were until the migration is committed, so that a rollback restores the container onto them.
 */
public final class TmpfsMounts {
    /** The image file of mount NAME's content: {@code mm-tmpfs-NAME.tar}. */
    public static final String ARCHIVE_PREFIX = "mm-tmpfs-";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** Past C1's threshold (~200 calls) for the code called once per archive or fill. */
    static final int WARM_UP_ROUNDS = 220;
    /** mmtar's arguments, as CRIU gives them for a tmpfs (see agent/src/main/c/mmtar.c). */
    private static final List<String> CREATE = List.of("--create", "--gzip", "--no-unquote", "--no-wildcards",
            "--one-file-system", "--check-links", "--preserve-permissions", "--sparse", "--numeric-owner", "--directory");
    private static final List<String> EXTRACT = List.of("--extract", "--gzip", "--no-unquote", "--no-wildcards", "--directory");

    private final Path root;
    private final CommandRunner runner;
    private final Path mmtar;
    /** When this agent mounted each container's mounts (System.nanoTime); mounts from before it started are not here. */
    private final Map<String, Long> mountedAt = new ConcurrentHashMap<>();

    /**
     * @param root   where the containers' mounts go (a directory of this host, made if missing)
     * @param runner runs {@code mount}, {@code umount} and {@code mmtar}
     * @param mmtar  the agent's {@code mmtar}
     */
    public TmpfsMounts(Path root, CommandRunner runner, Path mmtar) {
        this.root = root.toAbsolutePath();
        this.runner = runner;
        this.mmtar = mmtar;
    }

    /** Where container {@code id}'s mounts are (its bundle's {@link BundleSpec#tmpfsDir}). */
    public Path dir(String id) {
        if (id.isEmpty() || id.contains("/") || id.startsWith(".")) throw new IllegalArgumentException("bad container id '" + id + "'");
        return root.resolve(id);
    }

    /**
     * Mounts an empty tmpfs for each of container {@code id}'s mounts, replacing what was there
     * (a container started or restored here gets fresh ones); returns {@link #dir}.
     */
    public synchronized Path mountFresh(String id) throws IOException {
        release(id);
        Path dir = dir(id);
        for (BundleWriter.TmpfsMount t : BundleWriter.TMPFS_MOUNTS) {
            Path at = Files.createDirectories(dir.resolve(t.name()));
            run("mounting " + t.destination() + " of container " + id + " at " + at, List.of("mount", "-t", "tmpfs", "-o",
                    String.join(",", t.options()), "mm-" + t.name(), at.toString()));
        }
        mountedAt.put(id, System.nanoTime());
        return dir;
    }

    /**
     * Unmounts container {@code id}'s mounts and removes their directories; what is not there is
     * skipped. Lazily: a container still running keeps its own (it should not be).
     */
    public synchronized void release(String id) throws IOException {
        mountedAt.remove(id);
        Path dir = dir(id);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return;
        for (BundleWriter.TmpfsMount t : BundleWriter.TMPFS_MOUNTS) {
            Path at = dir.resolve(t.name());
            while (mounted(at)) run("unmounting " + at, List.of("umount", "-l", at.toString()));
            Files.deleteIfExists(at);
        }
        Files.deleteIfExists(dir);
    }

    /**
     * Releases container {@code id}'s mounts unless this agent mounted them less than {@code age}
     * ago; whether it did. For a caller that decided they are stale from a view that may be older
     * than they are: a migration that mounted them after that view was taken (or before this
     * replica of the cluster showed it) keeps them. Mounts from before the agent started count as old.
     */
    public synchronized boolean releaseIfOlder(String id, Duration age) throws IOException {
        Long at = mountedAt.get(id);
        if (at != null && System.nanoTime() - at < age.toNanos()) return false;
        release(id);
        return true;
    }

    /** Whether every one of container {@code id}'s mounts is mounted here. */
    public boolean mountedAll(String id) throws IOException {
        List<String> points = MountTable.points();
        for (BundleWriter.TmpfsMount t : BundleWriter.TMPFS_MOUNTS) if (!mounted(points, dir(id).resolve(t.name()))) return false;
        return true;
    }

    /**
     * Makes container {@code id}'s mounts reachable here again if they are not (an agent that
     * restarted in a mount namespace of its own, as the simulated hosts do, lost its view of
     * them): binds the container's own (init {@code pid}) where they belong. Ahead of a dump, whose
     * archives read them here once CRIU has ended the tasks.
     */
    public void adopt(String id, int pid) throws IOException {
        Path dir = dir(id);
        List<String> points = MountTable.points();
        for (BundleWriter.TmpfsMount t : BundleWriter.TMPFS_MOUNTS) {
            Path at = dir.resolve(t.name());
            if (mounted(points, at)) continue;
            Files.createDirectories(at);
            run("binding " + t.destination() + " of container " + id + " (pid " + pid + ") at " + at,
                    List.of("mount", "--bind", "/proc/" + pid + "/root" + t.destination(), at.toString()));
        }
    }

    /** Container ids with mounts here, e.g. left by an agent that stopped. */
    public List<String> held() throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        List<String> ids = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.forEach(p -> ids.add(p.getFileName().toString()));
        }
        return ids;
    }

    /**
     * Writes the content of each of container {@code id}'s mounts into {@code images} (the
     * container frozen): without a process when it holds only directories, files and links
     * ({@link TmpfsTree}, as mostly), else with mmtar. A container without mounts here (started
     * before they were) adds nothing: CRIU keeps its tmpfs.
     */
    public void archive(String id, Path images) throws IOException {
        Path dir = dir(id);
        List<String> points = MountTable.points();
        for (BundleWriter.TmpfsMount t : BundleWriter.TMPFS_MOUNTS) {
            Path at = dir.resolve(t.name());
            if (!mounted(points, at)) continue;
            Path archive = images.resolve(ARCHIVE_PREFIX + t.name() + ".tar");
            Optional<byte[]> written = TmpfsTree.list(at).flatMap(TmpfsArchive::write);
            if (written.isPresent()) {
                Files.write(archive, written.get());
                continue;
            }
            List<String> argv = new ArrayList<>(List.of(mmtar.toString()));
            argv.addAll(CREATE);
            argv.addAll(List.of(at.toString(), "."));
            tar("archiving " + t.destination() + " of container " + id, argv, null, archive);
        }
    }

    /**
     * Fills container {@code id}'s fresh mounts ({@link #mountFresh}) from the archives in
     * {@code images}, without a process when they hold only what {@link TmpfsArchive} reads,
     * else with mmtar; a mount whose archive is not there stays empty (its image came from a
     * host whose CRIU archived it). Returns how many it filled.
     */
    public int fill(String id, Path images) throws IOException {
        Path dir = dir(id);
        List<String> points = MountTable.points();
        int filled = 0;
        for (BundleWriter.TmpfsMount t : BundleWriter.TMPFS_MOUNTS) {
            Path archive = images.resolve(ARCHIVE_PREFIX + t.name() + ".tar");
            if (!Files.isRegularFile(archive)) continue;
            Path at = dir.resolve(t.name());
            if (!mounted(points, at)) {
                throw new IOException("container " + id + " has no tmpfs at " + at + " for " + t.destination() + " of its image");
            }
            Optional<List<TmpfsArchive.Member>> members = Files.size(archive) <= TmpfsTree.MOST_BYTES + (1 << 20)
                    ? TmpfsArchive.read(Files.readAllBytes(archive)) : Optional.empty();
            if (members.isPresent()) {
                TmpfsTree.extract(members.get(), at);
            } else {
                List<String> argv = new ArrayList<>(List.of(mmtar.toString()));
                argv.addAll(EXTRACT);
                argv.add(at.toString());
                tar("restoring " + t.destination() + " of container " + id, argv, archive, null);
            }
            filled++;
        }
        return filled;
    }

    /** Runs the archiving and filling of a small tree under {@code dir} until the JIT compiled it (see {@link TmpfsTree#warmUp}). */
    public static void warmUp(Path dir) throws IOException {
        TmpfsTree.warmUp(dir, WARM_UP_ROUNDS);
    }

    /** Whether {@code dir} is a mount point of this process's mount namespace. */
    static boolean mounted(Path dir) throws IOException {
        return mounted(MountTable.points(), dir);
    }

    /** Whether {@code dir} is one of {@code points} (read once for all of a container's mounts). */
    private static boolean mounted(List<String> points, Path dir) {
        return points.contains(dir.toAbsolutePath().normalize().toString());
    }

    /**
     * Unmounts (lazily) whatever is mounted at or under {@code dir} in this mount namespace, the
     * deepest first, so that the tree can be removed without emptying a container's mounts.
     */
    public static void unmountUnder(Path dir) throws IOException {
        String top = dir.toAbsolutePath().normalize().toString();
        List<String> under = new ArrayList<>();
        for (String p : MountTable.points()) if (p.equals(top) || p.startsWith(top.endsWith("/") ? top : top + "/")) under.add(p);
        under.sort(java.util.Comparator.comparingInt(String::length).reversed());
        for (String p : under) {
            CommandRunner.Execution e = new ProcessCommandRunner().run(Command.of(TIMEOUT, List.of("umount", "-l", p)));
            if (!e.succeeded() && mounted(Path.of(p))) throw new IOException("cannot unmount " + p + ": " + e.stderr().strip());
        }
    }

    private void run(String what, List<String> argv) throws IOException {
        CommandRunner.Execution e = runner.run(Command.of(TIMEOUT, argv));
        if (!e.succeeded()) throw new IOException(what + " failed: " + String.join(" ", argv) + ": " + e.stderr().strip());
    }

    /** Runs mmtar with stdin from {@code in} or stdout to {@code out} (null: none). */
    private void tar(String what, List<String> argv, Path in, Path out) throws IOException {
        Command c = Command.of(TIMEOUT, argv);
        if (in != null) c = c.withStdinFrom(in);
        if (out != null) c = c.withStdoutTo(out);
        CommandRunner.Execution e = runner.run(c);
        if (e.exitCode() == CommandFailure.TIMED_OUT) throw new IOException(what + ": mmtar did not end within " + TIMEOUT);
        if (!e.succeeded()) throw new IOException(what + " failed: mmtar exited " + e.exitCode() + ": " + e.stderr().strip());
    }
}
