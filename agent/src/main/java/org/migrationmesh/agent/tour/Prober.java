package org.migrationmesh.agent.tour;

import org.migrationmesh.agent.runtime.Workloads;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.agent.sim.SimulatedNetwork;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The client's prober for the whole tour: mmprobe in the client namespace asking the server
 * every {@code intervalMs}; {@link #view} reads what it saw in a window of its clock.
 */
final class Prober implements AutoCloseable {
    private final GameServer server;
    private final int intervalMs;
    private final ProbeProcess process;
    private final long startedNanos;
    private final Path keepAs;

    Prober(World world, GameServer server, String ip, int intervalMs, int seconds) throws IOException {
        this.server = server;
        this.intervalMs = intervalMs;
        Path bin = Workloads.extract("mmprobe", world.work().resolve("mmprobe"));
        List<String> argv = new ArrayList<>(List.of(bin.toString()));
        SimulatedNetwork net = world.net();
        List<String> sources = new ArrayList<>();
        for (int i = 0; i < server.probeSources(intervalMs); i++) {
            String a = net.newSourceAddress();
            net.addAddress(world.client(), a);
            sources.add(a);
        }
        argv.addAll(server.probeArgs(ip, intervalMs, seconds, sources));
        this.keepAs = World.logsOfLastWorld(world.work().getParent()).resolve("probe-" + ip + ".log");
        this.startedNanos = System.nanoTime();
        this.process = new ProbeProcess(net.start(world.client(), argv.toArray(String[]::new)));
    }

    /** Now, in ms of the prober's clock (it started right after this object noted the time). */
    long nowMs() {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }

    List<ClientView.Reply> replies() {
        return server.replies(process.lines());
    }

    ClientView view(long fromMs, long toMs) {
        return ClientView.of(replies(), fromMs, toMs, intervalMs);
    }

    /** Waits up to {@code timeoutMs} for a reply after {@code sinceMs}; false if none came. */
    boolean awaitReply(long sinceMs, long timeoutMs) throws InterruptedException {
        long deadline = nowMs() + timeoutMs;
        while (nowMs() < deadline) {
            List<ClientView.Reply> r = replies();
            if (!r.isEmpty() && r.get(r.size() - 1).atMillis() >= sinceMs) return true;
            Thread.sleep(50);
        }
        return false;
    }

    /** Stops the prober and keeps everything it printed next to the agents' logs. */
    @Override
    public void close() {
        process.close();
        try {
            java.nio.file.Files.createDirectories(keepAs.getParent());
            java.nio.file.Files.write(keepAs, process.lines());
        } catch (IOException ignored) {
            // a convenience only
        }
    }
}
