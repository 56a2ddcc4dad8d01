package org.migrationmesh.agent.tour;

import org.migrationmesh.agent.runtime.BundleSpec;
import org.migrationmesh.agent.runtime.Command;
import org.migrationmesh.agent.runtime.CommandRunner;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;
import org.migrationmesh.agent.runtime.Runc;
import org.migrationmesh.agent.runtime.RuncConfig;
import org.migrationmesh.agent.sim.Repository;
import org.migrationmesh.agent.sim.SimulatedNetwork;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The baseline: the same server in the same world moved by the seed's own method
 * ({@code scripts/seed-migrate.sh}: runc checkpoint, rsync -z, the IP moved as keepalived
 * would, runc restore), without any agent. Every site gets a runc root, a bundle for the server
 * and an rsync daemon; the container runs under its own id and floating IP, so both methods can
 * take turns in one world.
 */
final class SeedLegs implements AutoCloseable {
    static final String METHOD = "seed (runc+rsync+keepalived)";

    private final World world;
    private final Path script;
    private final GameServer server;
    private final String container;
    private final String ip;
    private final Map<String, Path> dirs = new LinkedHashMap<>();
    private final List<Process> daemons = new ArrayList<>();
    private final CommandRunner runner = new ProcessCommandRunner();
    private String at;

    SeedLegs(World world, GameServer server, Path script, String container, String site) throws IOException {
        this.world = world;
        this.script = script.isAbsolute() ? script : Repository.file(script.toString());
        if (!Files.isRegularFile(this.script)) throw new IllegalArgumentException("the seed's method " + script + " is not there");
        this.server = server;
        this.container = container;
        this.ip = world.net().newFloatingAddress();
        try {
            for (Site s : world.sites()) {
                SimulatedNetwork.Host h = world.agents().host(s.name());
                Path dir = Files.createDirectories(world.work().resolve("seed").resolve(s.name()));
                dirs.put(s.name(), dir);
                Files.createDirectories(dir.resolve("incoming"));
                Files.createDirectories(dir.resolve("runc"));
                BundleSpec spec = BundleSpec.of(server.command(ip), h.netnsPath(), "/" + world.net().prefix() + "/seed-" + s.name());
                server.bundle(dir.resolve("bundle"), spec);
                Path conf = dir.resolve("rsyncd.conf");
                Files.writeString(conf, "uid = root\ngid = root\nuse chroot = no\n[incoming]\n  path = " + dir.resolve("incoming")
                        + "\n  read only = false\n");
                daemons.add(new ProcessBuilder("nsenter", "--net=" + h.netnsPath(), "rsync", "--daemon", "--no-detach",
                        "--address", h.address(), "--port", "873", "--config", conf.toString())
                        .redirectErrorStream(true).redirectOutput(dir.resolve("rsyncd.log").toFile()).start());
            }
            SimulatedNetwork.Host h = world.agents().host(site);
            world.net().addAddress(h, ip);
            runc(site).run(container, dirs.get(site).resolve("bundle"));
            world.net().announce(h, ip);
            at = site;
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    String ip() {
        return ip;
    }

    String at() {
        return at;
    }

    /** Moves the server along {@code leg} with the seed's script; stop-and-copy or, for any pre-copy leg, pre. */
    LegResult migrate(Leg leg, Prober prober, int repetition, PrintStream out) throws IOException, InterruptedException {
        String from = at;
        String mode = leg.mode() == Leg.Mode.STOP || leg.mode() == Leg.Mode.POST ? "stop" : "pre";
        long progressBefore = server.progress(runc(from).state(container).pid());
        double pingBefore = world.ping(ip, 5);
        long t0 = prober.nowMs();
        SimulatedNetwork.Host src = world.agents().host(from), dst = world.agents().host(leg.to());
        CommandRunner.Execution ex = runner.run(Command.of(Duration.ofMinutes(15), List.of("bash", script.toString(), mode,
                container, ip, src.netns(), dirs.get(from).toString(), dst.netns(), dirs.get(leg.to()).toString(),
                dst.address())));
        if (out != null) ex.stdout().lines().forEach(l -> out.println("    " + l));
        if (!ex.succeeded()) {
            throw new IllegalStateException("seed-migrate.sh " + mode + " " + from + " -> " + leg.to() + " failed (exit "
                    + ex.exitCode() + "): " + ex.stderr().strip() + "\n" + ex.stdout().strip());
        }
        at = leg.to();
        long done = prober.nowMs();
        prober.awaitReply(done, 10_000);
        Thread.sleep(1500);
        long t1 = prober.nowMs();
        double pingAfter = world.ping(ip, 5);
        long progressAfter = server.progressPast(runc(at).state(container).pid(), progressBefore, GameServer.PROGRESS_WAIT);
        Map<String, Long> phases = new HashMap<>();
        long rsyncBytes = 0;
        for (String l : ex.stdout().lines().toList()) {
            String[] w = l.split(" ");
            if (w.length == 3 && w[0].equals("phase")) phases.put(w[1], Long.parseLong(w[2]));
            if (w.length == 2 && w[0].equals("rsync_bytes")) rsyncBytes += Long.parseLong(w[1]);
            if (w.length == 2 && w[0].equals("downtime_ms")) phases.put("downtime", Long.parseLong(w[1]));
        }
        long total = phases.values().stream().mapToLong(Long::longValue).sum() - phases.getOrDefault("downtime", 0L);
        return new LegResult(METHOD, repetition, from, leg, phases.getOrDefault("downtime", -1L),
                phases.getOrDefault("checkpoint", -1L), rsyncBytes, total, prober.view(t0, t1), pingBefore, pingAfter,
                progressBefore, progressAfter);
    }

    /** The runc of site {@code site} (its own root, the one the script uses). */
    private Runc runc(String site) {
        Path dir = dirs.get(site);
        return new Runc(RuncConfig.defaults(dir.resolve("runc"), dir.resolve("runc-logs")), runner);
    }

    @Override
    public void close() {
        for (String site : dirs.keySet()) {
            try {
                runc(site).find(container).ifPresent(s -> runc(site).delete(container, true));
            } catch (RuntimeException ignored) {
                // the world's cleanup kills what is left in its namespaces
            }
        }
        daemons.forEach(Process::destroyForcibly);
    }
}
