package org.migrationmesh.agent.demo;

import org.migrationmesh.agent.runtime.BundleSpec;
import org.migrationmesh.agent.runtime.CheckpointOptions;
import org.migrationmesh.agent.runtime.CheckpointResult;
import org.migrationmesh.agent.runtime.Criu;
import org.migrationmesh.agent.runtime.Images;
import org.migrationmesh.agent.runtime.LazyCheckpoint;
import org.migrationmesh.agent.runtime.LazyPagesDaemon;
import org.migrationmesh.agent.runtime.LiveMemory;
import org.migrationmesh.agent.runtime.NetworkLock;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.RestoreOptions;
import org.migrationmesh.agent.runtime.RestoreResult;
import org.migrationmesh.agent.runtime.Runc;
import org.migrationmesh.agent.runtime.RuncConfig;
import org.migrationmesh.agent.runtime.Workloads;
import org.migrationmesh.agent.sim.Cgroups;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.agent.sim.SimulatedNetwork;
import org.migrationmesh.agent.sim.Ticks;
import org.migrationmesh.proto.runtime.RuntimeCapabilities;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The runtime on its own, end to end: two simulated hosts and a client, a tick server moved
 * from host a to host b with its TCP client connected, then a memory workload moved by
 * stop-and-copy and by post-copy. Prints every phase's time and size.
 */
@Command(name = "runtime-demo", mixinStandardHelpOptions = true,
        description = "Checkpoint a running container on one simulated host and restore it on another, timing each phase.")
public final class RuntimeDemo implements Callable<Integer> {
    @Option(names = "--memory-mb", defaultValue = "400", description = "Size of the memory workload (0 to skip it). Default: ${DEFAULT-VALUE}")
    int memoryMb;

    @Option(names = "--dirty-pages", defaultValue = "256", description = "Pages per second the memory workload rewrites. Default: ${DEFAULT-VALUE}")
    int dirtyPages;

    @Option(names = "--work-dir", defaultValue = "/var/tmp", description = "Where bundles and images go. Default: ${DEFAULT-VALUE}")
    Path workRoot;

    private final PrintStream out = System.out;
    private final ProcessCommandRunner runner = new ProcessCommandRunner();

    public static void main(String[] args) {
        System.exit(new CommandLine(new RuntimeDemo()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Criu criu = new Criu(Criu.DEFAULT_BINARY, runner);
        RuntimeCapabilities caps = criu.detect(Path.of("runc"));
        out.printf("host: kernel %s, runc %s, CRIU %s, dirty tracking %s, lazy pages %s%n", caps.getKernelRelease(),
                caps.getRuncVersion(), caps.getCriuVersion(), yesNo(caps.getDirtyTracking()), yesNo(caps.getLazyPages()));
        try (SimulatedNetwork net = SimulatedNetwork.create("demo")) {
            Path dir = Files.createDirectories(workRoot.resolve(net.prefix()));
            try {
                SimulatedNetwork.Host a = net.addHost("a");
                SimulatedNetwork.Host b = net.addHost("b");
                SimulatedNetwork.Host client = net.addHost("client");
                Runc runcA = new Runc(RuncConfig.defaults(dir.resolve("runc-a"), dir.resolve("logs-a")), runner);
                Runc runcB = new Runc(RuncConfig.defaults(dir.resolve("runc-b"), dir.resolve("logs-b")), runner);
                Hosts hosts = new Hosts(net, a, b, client, runcA, runcB, dir, criu);
                out.printf("simulated hosts: a=%s b=%s client=%s (namespaces %s-*)%n", a.address(), b.address(),
                        client.address(), net.prefix());
                try {
                    tickServer(hosts);
                    if (memoryMb > 0) {
                        memoryWorkload(hosts, false);
                        memoryWorkload(hosts, true);
                    }
                } finally {
                    for (Runc r : List.of(runcA, runcB)) r.list().forEach(s -> r.delete(s.id(), true));
                }
            } finally {
                Images.delete(dir);
                Cgroups.removeTree("/" + net.prefix());
            }
        }
        return 0;
    }

    private record Hosts(SimulatedNetwork net, SimulatedNetwork.Host a, SimulatedNetwork.Host b,
                         SimulatedNetwork.Host client, Runc runcA, Runc runcB, Path dir, Criu criu) {
        Path bundle(SimulatedNetwork.Host host, String id, String workload, List<String> args) throws IOException {
            BundleSpec spec = BundleSpec.of(args, host.netnsPath(), "/" + net.prefix() + "/" + host.name() + "/" + id);
            return Workloads.bundle(dir.resolve("bundles").resolve(host.name()).resolve(id), workload, spec);
        }
    }

    private void tickServer(Hosts h) throws Exception {
        out.println();
        out.println("== tick server (TCP client connected), stop-and-copy a -> b ==");
        String ip = h.net().newFloatingAddress();
        h.net().addAddress(h.a(), ip);
        List<String> args = List.of("/bin/tickserver", ip, "7000", "7001");
        long t0 = System.nanoTime();
        h.runcA().run("tick", h.bundle(h.a(), "tick", "tickserver", args));
        phase("run", t0, "");
        Path probeBin = Workloads.extract("mmprobe", h.dir().resolve("mmprobe"));
        ProbeProcess probe = new ProbeProcess(h.net().start(h.client(), probeBin.toString(), "tcp", ip, "7000", "6"));
        List<String> lines = probe.lines();
        Thread.sleep(1500);

        long freeze = System.nanoTime();
        Path images = h.dir().resolve("tick-images");
        CheckpointResult dump = h.runcA().checkpoint("tick", CheckpointOptions.stopAndCopy(images, h.dir().resolve("tick-work")));
        phase("checkpoint", freeze, String.format("image %s, frozen %d ms (CRIU), %d pages", bytes(dump.imageBytes()),
                dump.frozen().toMillis(), dump.stats().getPagesWritten()));
        long t = System.nanoTime();
        Path copy = Images.copy(images, h.dir().resolve("tick-images-b"));
        phase("copy images", t, bytes(Images.size(copy)) + " (local copy; agents stream them over gRPC)");
        t = System.nanoTime();
        h.net().removeAddress(h.a(), ip);
        h.net().addAddress(h.b(), ip);
        phase("move IP", t, ip + " a -> b");
        t = System.nanoTime();
        RestoreResult restored = h.runcB().restore("tick", h.bundle(h.b(), "tick", "tickserver", args),
                RestoreOptions.of(copy, h.dir().resolve("tick-work-b")));
        h.net().announce(h.b(), ip);
        phase("restore", t, String.format("pid %d, CRIU restore %d ms", restored.pid(), restored.stats().getRestoreTimeUs() / 1000));
        out.printf("  %-22s %8d ms%n", "downtime (freeze->up)", Duration.ofNanos(System.nanoTime() - freeze).toMillis());
        t = System.nanoTime();
        List<String> removed = new NetworkLock(runner).remove(h.a().netns());
        phase("remove CRIU net lock", t, removed.size() + " item(s) on host a");
        probe.awaitEnd(Duration.ofSeconds(30));
        Ticks ticks = Ticks.of(lines);
        long maxGap = ticks.gapsLongestFirst().isEmpty() ? 0 : ticks.gapsLongestFirst().get(0);
        long firstTick = ticks.size() == 0 ? -1 : ticks.ticks().get(0).counter();
        long lastTick = ticks.size() == 0 ? -1 : ticks.ticks().get(ticks.size() - 1).counter();
        String end = lines.isEmpty() ? "no output" : lines.get(lines.size() - 1);
        out.printf("  client: connection %s, ticks %d..%d %s, longest gap between ticks %d ms%n",
                end.equals("end ok") ? "survived" : "LOST (" + end + ")", firstTick, lastTick,
                ticks.starts() == 1 && ticks.consecutive() ? "without a restart or a lost tick" : "NOT continuous", maxGap);
        h.runcB().delete("tick", true);
        h.net().removeAddress(h.b(), ip);
    }

    private void memoryWorkload(Hosts h, boolean postCopy) throws Exception {
        String id = postCopy ? "mem-lazy" : "mem";
        out.println();
        out.printf("== memory workload %d MB, %d dirty pages/s, %s a -> b ==%n", memoryMb, dirtyPages,
                postCopy ? "post-copy (lazy pages)" : "stop-and-copy");
        List<String> args = List.of("/bin/memhog", Integer.toString(memoryMb), Integer.toString(dirtyPages));
        long t = System.nanoTime();
        h.runcA().run(id, h.bundle(h.a(), id, "memhog", args));
        waitForRss(h.runcA().state(id).pid(), memoryMb);
        phase("run (memory filled)", t, "");
        Path images = h.dir().resolve(id + "-images");
        Path work = h.dir().resolve(id + "-work");
        Path workB = h.dir().resolve(id + "-work-b");
        if (!postCopy) {
            int pid = h.runcA().ps(id).get(0);
            long[] bytesRead = {0};
            LiveMemory.Scan scan = LiveMemory.read(pid, (vaddr, content) -> bytesRead[0] += content.remaining());
            out.printf("  %-22s %8d ms  %s of private memory read while it runs (pre-copy without dirty tracking)%n",
                    "live memory read", scan.elapsedNanos() / 1_000_000, bytes(bytesRead[0]));
        }
        long freeze = System.nanoTime();
        if (!postCopy) {
            CheckpointResult dump = h.runcA().checkpoint(id, CheckpointOptions.stopAndCopy(images, work));
            phase("checkpoint", freeze, String.format("image %s, frozen %d ms (CRIU), memdump %d ms, memwrite %d ms",
                    bytes(dump.imageBytes()), dump.frozen().toMillis(), dump.stats().getMemdumpTimeUs() / 1000,
                    dump.stats().getMemwriteTimeUs() / 1000));
            t = System.nanoTime();
            Path copy = Images.copy(images, h.dir().resolve(id + "-images-b"));
            phase("copy images", t, bytes(Images.size(copy)));
            t = System.nanoTime();
            RestoreResult r = h.runcB().restore(id, h.bundle(h.b(), id, "memhog", args), RestoreOptions.of(copy, workB));
            phase("restore", t, String.format("CRIU restore %d ms, %d pages", r.stats().getRestoreTimeUs() / 1000,
                    r.stats().getPagesRestored()));
        } else {
            int port = LazyCheckpoint.freePageServerPort();
            try (LazyCheckpoint lazy = h.runcA().startLazyCheckpoint(id, CheckpointOptions.stopAndCopy(images, work),
                    "127.0.0.1:" + port)) {
                lazy.awaitImagesWritten(Duration.ofMinutes(2));
                phase("lazy checkpoint", freeze, "images without memory: " + bytes(Images.size(images)));
                t = System.nanoTime();
                Path copy = Images.copy(images, h.dir().resolve(id + "-images-b"));
                phase("copy images", t, bytes(Images.size(copy)));
                try (LazyPagesDaemon pages = LazyPagesDaemon.start(h.criu(), runner, id, copy, workB, "127.0.0.1", port,
                        Duration.ofSeconds(30))) {
                    t = System.nanoTime();
                    h.runcB().restore(id, h.bundle(h.b(), id, "memhog", args), RestoreOptions.of(copy, workB).withLazyPages(true));
                    phase("lazy restore", t, "running on b, pages arrive on demand");
                    out.printf("  %-22s %8d ms%n", "downtime (freeze->up)", Duration.ofNanos(System.nanoTime() - freeze).toMillis());
                    LazyPagesDaemon.Transferred moved = pages.awaitCompletion(Duration.ofMinutes(5));
                    phase("all pages pulled", t, String.format("%d/%d pages (%s)", moved.pages(), moved.totalPages(),
                            bytes(moved.pages() * 4096)));
                }
                lazy.awaitCompletion(Duration.ofMinutes(1));
            }
        }
        out.printf("  %-22s %8d ms%n", "total", Duration.ofNanos(System.nanoTime() - freeze).toMillis());
        new NetworkLock(runner).remove(h.a().netns());
        h.runcB().delete(id, true);
        Images.delete(images);
    }

    private void phase(String name, long startNanos, String detail) {
        out.printf("  %-22s %8d ms  %s%n", name, Duration.ofNanos(System.nanoTime() - startNanos).toMillis(), detail);
    }

    private static void waitForRss(int pid, int mb) throws IOException, InterruptedException {
        Path status = Path.of("/proc", Integer.toString(pid), "status");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            for (String l : Files.readAllLines(status)) {
                if (l.startsWith("VmRSS:") && Long.parseLong(l.replaceAll("\\D", "")) >= mb * 1000L) return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("memory workload pid " + pid + " did not reach " + mb + " MB resident in 2 min");
    }

    static String bytes(long n) {
        if (n >= 1 << 20) return String.format("%.1f MiB", n / 1048576.0);
        if (n >= 1 << 10) return String.format("%.1f KiB", n / 1024.0);
        return n + " B";
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

}
