package org.migrationmesh.agent.tour;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.migrationmesh.agent.sim.AgentProcesses;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Our method: the game server run by the agents of a {@link World} and moved leg by leg with
 * {@code agentctl migrate --watch}, run from the client's namespace like a user would, each
 * leg measured by the prober too.
 */
final class AgentLegs {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String METHOD = "migration-mesh";

    private final World world;
    private final GameServer server;
    private final String container;
    private final String ip;
    private final String peer;
    private String at;
    private int migrations;

    /** Places {@code container} at {@code site} on a fresh floating IP and waits until the cluster runs it. */
    AgentLegs(World world, GameServer server, String container, String site) throws IOException, InterruptedException {
        this.world = world;
        this.server = server;
        this.container = container;
        this.ip = world.net().newFloatingAddress();
        this.peer = world.sites().get(0).name();
        this.at = site;
        List<String> args = new ArrayList<>(List.of("run", container, "--owner", site));
        args.addAll(server.runArgs(ip));
        AgentProcesses.Result r = ctl(60, args.toArray(String[]::new));
        if (r.exit() != 0) throw new IllegalStateException("agentctl run failed (exit " + r.exit() + "): " + r.err().strip());
    }

    String ip() {
        return ip;
    }

    String at() {
        return at;
    }

    /** Waits until every agent is a member with a container runtime and there is a leader. */
    static void awaitCluster(World world, PrintStream out) throws IOException, InterruptedException {
        String peer = world.sites().get(0).name();
        long deadline = System.nanoTime() + 120_000_000_000L;
        String last = "";
        while (System.nanoTime() < deadline) {
            AgentProcesses.Result r;
            try {
                r = world.agents().agentctl(world.client(), peer, 30, "-o", "json", "status");
            } catch (IOException e) {
                // On a busy machine the agents may still be starting: an unanswered call is one more try.
                last = e.getMessage();
                continue;
            }
            if (r.exit() == 0) {
                JsonNode v = JSON.readTree(r.out());
                int ready = 0;
                for (JsonNode m : v.path("members")) if (!m.path("runtime").path("criuVersion").asText().isEmpty()) ready++;
                if (!v.path("leaderId").asText().isEmpty() && ready == world.sites().size()) {
                    out.printf("cluster: %d agents, leader %s%n", ready, v.path("leaderId").asText());
                    return;
                }
                last = ready + " of " + world.sites().size() + " agents ready, leader '" + v.path("leaderId").asText() + "'";
            } else {
                last = r.err().strip();
            }
            Thread.sleep(1000);
        }
        throw new IllegalStateException("the cluster did not form in 120 s: " + last + "\n" + world.agents().logTails(15));
    }

    /**
     * Moves the server along {@code leg}, printing agentctl's output (indented); returns the
     * leg's figures with the client's view of the window around it.
     */
    LegResult migrate(Leg leg, Prober prober, int repetition, PrintStream out) throws IOException, InterruptedException {
        String from = at;
        long progressBefore = server.progress(world.agents().runc(from).state(container).pid());
        double pingBefore = world.ping(ip, 5);
        long t0 = prober.nowMs();
        String id = container + "-" + (++migrations) + "-" + leg.to();
        List<String> args = new ArrayList<>(List.of("migrate", container, "--to", leg.to(), "--id", id, "--watch"));
        args.addAll(leg.mode().migrateArgs);
        AgentProcesses.Result r = ctl(900, args.toArray(String[]::new));
        if (out != null) r.out().lines().forEach(l -> out.println("    " + l));
        if (r.exit() != 0) {
            throw new IllegalStateException("agentctl migrate " + container + " to " + leg.to() + " failed (exit " + r.exit()
                    + "): " + r.err().strip());
        }
        at = leg.to();
        long done = prober.nowMs();
        prober.awaitReply(done, 10_000);
        Thread.sleep(1500);
        long t1 = prober.nowMs();
        JsonNode report = report(id);
        double pingAfter = world.ping(ip, 5);
        long progressAfter = server.progressPast(world.agents().runc(at).state(container).pid(), progressBefore, GameServer.PROGRESS_WAIT);
        return new LegResult(METHOD, repetition, from, leg, report.path("downtimeMs").asLong(),
                report.path("checkpointMs").asLong(), report.path("wireBytes").asLong() + sum(report.path("preCopyRoundBytes")),
                report.path("totalMs").asLong(), prober.view(t0, t1), pingBefore, pingAfter, progressBefore, progressAfter);
    }

    private JsonNode report(String migrationId) throws IOException, InterruptedException {
        AgentProcesses.Result r = ctl(60, "-o", "json", "watch", migrationId);
        List<String> lines = r.out().lines().filter(l -> l.startsWith("{")).toList();
        if (lines.isEmpty()) throw new IllegalStateException("no view of migration " + migrationId + ": " + r.err().strip());
        JsonNode report = JSON.readTree(lines.get(lines.size() - 1)).path("report");
        if (report.isMissingNode() || report.isNull()) throw new IllegalStateException("migration " + migrationId + " has no report");
        return report;
    }

    private static long sum(JsonNode array) {
        long s = 0;
        for (JsonNode n : array) s += n.asLong();
        return s;
    }

    private AgentProcesses.Result ctl(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        return world.agents().agentctl(world.client(), peer, timeoutSeconds, args);
    }
}
