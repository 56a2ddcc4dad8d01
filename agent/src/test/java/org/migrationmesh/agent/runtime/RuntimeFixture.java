package org.migrationmesh.agent.runtime;

import org.migrationmesh.agent.sim.Cgroups;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.agent.sim.SimulatedNetwork;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Two simulated hosts (a, b) and a client (c) with a runc per host (own --root and cgroup
 * parent), under a unique work directory. Everything is removed by {@link #close()},
 * including containers that a failing test left running.
 */
final class RuntimeFixture implements AutoCloseable {
    final SimulatedNetwork net;
    final SimulatedNetwork.Host a;
    final SimulatedNetwork.Host b;
    final SimulatedNetwork.Host client;
    final Path dir;
    final Runc runcA;
    final Runc runcB;
    final CommandRunner runner = new ProcessCommandRunner();
    final String cgroupParent;
    private final List<ProbeProcess> probes = new CopyOnWriteArrayList<>();

    RuntimeFixture(String tag) throws IOException {
        net = SimulatedNetwork.create(tag);
        try {
            a = net.addHost("a");
            b = net.addHost("b");
            client = net.addHost("c");
            dir = Files.createDirectories(Path.of("/var/tmp", net.prefix()));
            cgroupParent = "/" + net.prefix();
            runcA = new Runc(RuncConfig.defaults(dir.resolve("runc-a"), dir.resolve("logs-a")), runner);
            runcB = new Runc(RuncConfig.defaults(dir.resolve("runc-b"), dir.resolve("logs-b")), runner);
        } catch (IOException | RuntimeException e) {
            net.close();
            throw e;
        }
    }

    /** A bundle for {@code workload} on {@code host}, with a cgroup path under this fixture. */
    Path bundle(SimulatedNetwork.Host host, String id, String workload, List<String> args) throws IOException {
        BundleSpec spec = BundleSpec.of(args, host.netnsPath(), cgroupParent + "/" + host.name() + "/" + id);
        return Workloads.bundle(dir.resolve("bundles").resolve(host.name()).resolve(id), workload, spec);
    }

    /** The mmprobe client binary, outside any container. */
    Path probe() throws IOException {
        Path p = dir.resolve("mmprobe");
        return Files.exists(p) ? p : Workloads.extract("mmprobe", p);
    }

    /** Starts mmprobe in the client namespace with {@code args}. */
    ProbeProcess startProbe(String... args) throws IOException {
        String[] argv = new String[args.length + 1];
        argv[0] = probe().toString();
        System.arraycopy(args, 0, argv, 1, args.length);
        ProbeProcess p = new ProbeProcess(net.start(client, argv));
        probes.add(p);
        return p;
    }

    @Override
    public void close() {
        probes.forEach(ProbeProcess::close);
        for (Runc r : List.of(runcA, runcB)) {
            try {
                for (ContainerState s : r.list()) r.delete(s.id(), true);
            } catch (RuntimeException ignored) {
                // keep cleaning the rest
            }
        }
        net.close();
        Cgroups.removeTree(cgroupParent);
        try {
            Images.delete(dir);
        } catch (IOException ignored) {
            // best effort: the next run uses another directory
        }
    }
}
