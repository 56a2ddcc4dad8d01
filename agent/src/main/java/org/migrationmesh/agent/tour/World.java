package org.migrationmesh.agent.tour;

import org.migrationmesh.agent.runtime.Command;
import org.migrationmesh.agent.runtime.CommandRunner;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.sim.AgentProcesses;
import org.migrationmesh.agent.sim.Cgroups;
import org.migrationmesh.agent.sim.SimulatedNetwork;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The simulated world of the tour on this machine: a host per {@link Site} (a network namespace,
 * behind its region's latency relay and shaped uplink), an agent process per host, all in one
 * cluster, and a client host at the core. One world at a time per machine: a lock file says so,
 * and whatever an earlier world left (it was killed) is removed before a new one starts.
 * {@link #close()} removes everything, and runs on Ctrl-C too.
 */
public final class World implements AutoCloseable {
    static final String TAG = "tour";
    private static final Path LOCK = Path.of("/run/migration-mesh-tour.lock");
    /**
     * The agents keep runc's state and their checkpoint images in a tmpfs when the machine has one
     * here, as an agent in production should (see AgentConfig's runDir); otherwise in their data directories.
     */
    private static final Path RUN_TMPFS = Path.of("/dev/shm");
    private static final Pattern RTT = Pattern.compile("= [0-9.]+/([0-9.]+)/[0-9.]+/");

    private final FileChannel lockFile;
    private final SimulatedNetwork net;
    private final Map<String, Site> sites = new LinkedHashMap<>();
    private final AgentProcesses agents;
    private final SimulatedNetwork.Host client;
    private final Path work;
    private final Thread onExit = new Thread(this::close, "world-cleanup");
    private final CommandRunner runner = new ProcessCommandRunner();
    private boolean closed;

    private World(FileChannel lockFile, SimulatedNetwork net, List<Site> siteList, Path workRoot, List<String> agentJvm)
            throws IOException {
        this.lockFile = lockFile;
        this.net = net;
        this.work = Files.createDirectories(workRoot.resolve(net.prefix()));
        Map<String, SimulatedNetwork.Host> hosts = new LinkedHashMap<>();
        Map<String, SimulatedNetwork.Region> regions = new LinkedHashMap<>();
        for (Site s : siteList) {
            if (!s.local()) regions.put(s.name(), net.addRegion(s.name(), s.delayMs(), s.rateMbit()));
        }
        for (Site s : siteList) {
            sites.put(s.name(), s);
            hosts.put(s.name(), net.addHost(s.name(), regions.get(s.name())));
        }
        client = net.addHost("client");
        double worst = 0;
        for (Site a : siteList) for (Site b : siteList) worst = Math.max(worst, Site.roundTripMs(a, b));
        agents = new AgentProcesses(work.resolve("agents"), runRoot(net.prefix()), hosts,
                Math.max(20, (long) Math.ceil(worst * 1.2)), 500, agentJvm, Map.of());
    }

    /**
     * Builds the world of {@code siteList} (the first is the local site) with its working files
     * under {@code workRoot}; refuses if another world runs on this machine.
     */
    public static World start(List<Site> siteList, Path workRoot, List<String> agentJvm, PrintStream out) throws IOException {
        if (siteList.isEmpty() || !siteList.get(0).local()) {
            throw new IllegalArgumentException("the first site must be the local one (no delay, no shaping)");
        }
        FileChannel lock = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock held = lock.tryLock();
        if (held == null) {
            lock.close();
            throw new IllegalStateException("another tour runs on this machine (lock " + LOCK + " is held)");
        }
        SimulatedNetwork net = null;
        try {
            removeLeftovers(workRoot, out);
            Images.delete(logsOfLastWorld(workRoot));
            net = SimulatedNetwork.create(TAG);
            World w = new World(lock, net, siteList, workRoot, agentJvm);
            Runtime.getRuntime().addShutdownHook(w.onExit);
            return w;
        } catch (IOException | RuntimeException e) {
            if (net != null) net.close();
            lock.close();
            throw e;
        }
    }

    private static Path runRoot(String prefix) {
        try {
            return Files.getFileStore(RUN_TMPFS).type().equals("tmpfs") ? RUN_TMPFS.resolve(prefix) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Namespaces, processes, cgroups and directories of earlier worlds that did not end cleanly. */
    private static void removeLeftovers(Path workRoot, PrintStream out) throws IOException {
        CommandRunner runner = new ProcessCommandRunner();
        String prefix = "mm" + TAG + "-";
        CommandRunner.Execution list = runner.run(Command.of(Duration.ofSeconds(10), List.of("ip", "netns", "list")));
        List<String> stale = list.stdout().lines().map(l -> l.split(" ")[0]).filter(n -> n.startsWith(prefix)).toList();
        for (String ns : stale) SimulatedNetwork.killProcessesIn(runner, ns);
        for (String ns : stale) runner.run(Command.of(Duration.ofSeconds(10), List.of("ip", "netns", "del", ns)));
        List<Path> dirs = new ArrayList<>();
        for (Path root : List.of(workRoot, RUN_TMPFS)) {
            if (!Files.isDirectory(root)) continue;
            try (Stream<Path> s = Files.list(root)) {
                s.filter(p -> p.getFileName().toString().startsWith(prefix)).forEach(dirs::add);
            }
        }
        for (Path d : dirs) Images.delete(d);
        if (!stale.isEmpty() || !dirs.isEmpty()) {
            out.printf("removed leftovers of an earlier tour: %d namespaces, %d directories%n", stale.size(), dirs.size());
        }
    }

    public SimulatedNetwork net() {
        return net;
    }

    public AgentProcesses agents() {
        return agents;
    }

    public SimulatedNetwork.Host client() {
        return client;
    }

    public Site site(String name) {
        Site s = sites.get(name);
        if (s == null) throw new IllegalArgumentException("no site '" + name + "' in this world, have " + sites.keySet());
        return s;
    }

    public List<Site> sites() {
        return List.copyOf(sites.values());
    }

    public Path work() {
        return work;
    }

    /** Average round trip from the client to {@code address} over {@code count} pings, in ms; -1 if none answered. */
    public double ping(String address, int count) throws IOException {
        CommandRunner.Execution ex = net.exec(client, Duration.ofSeconds(count + 5L), "ping", "-n", "-q", "-c",
                Integer.toString(count), "-i", "0.2", "-W", "2", address);
        Matcher m = RTT.matcher(ex.stdout());
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    /** Where the agents' logs of the last world are kept after it is gone. */
    public static Path logsOfLastWorld(Path workRoot) {
        return workRoot.resolve("migration-mesh-tour-logs");
    }

    private void keepLogs() {
        Path keep = logsOfLastWorld(work.getParent());
        try {
            Files.createDirectories(keep);
            for (String id : agents.ids()) {
                if (Files.exists(agents.log(id))) Files.copy(agents.log(id), keep.resolve(id + ".log"));
            }
        } catch (IOException ignored) {
            // logs are a convenience; cleaning up matters more
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException e) {
            // already shutting down: this is the hook
        }
        closeQuietly();
    }

    private void closeQuietly() {
        keepLogs();
        agents.close();
        net.close();
        Cgroups.removeTree("/" + net.prefix());
        try {
            Images.delete(work);
        } catch (IOException ignored) {
            // the next world removes it as a leftover
        }
        try {
            lockFile.close();
        } catch (IOException ignored) {
            // released with the process anyway
        }
    }
}
