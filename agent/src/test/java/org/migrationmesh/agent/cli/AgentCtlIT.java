package org.migrationmesh.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.agent.daemon.LocalCluster;
import org.migrationmesh.cluster.ClusterClient;
import org.migrationmesh.cluster.Commands;
import org.migrationmesh.proto.cluster.MigrationPhase;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** agentctl against three real agent JVMs: outputs, JSON, one-line errors and exit codes. */
class AgentCtlIT {
    @TempDir
    static Path dir;
    static LocalCluster cluster;
    static String peer;
    private static final ObjectMapper JSON = new ObjectMapper();

    record Run(int exit, String out, String err) {}

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalCluster.start(3, dir);
        cluster.awaitLeader(Duration.ofSeconds(60));
        cluster.await(Duration.ofSeconds(60), "three members", () ->
                cluster.status("a1").filter(s -> s.getMembersCount() == 3).orElse(null));
        peer = cluster.agent("a1").controlAddress();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    static Run agentctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 2];
        all[0] = "--peer";
        all[1] = peer;
        System.arraycopy(args, 0, all, 2, args.length);
        int exit = AgentCtl.execute(new PrintWriter(out, true), new PrintWriter(err, true), all);
        return new Run(exit, out.toString(), err.toString());
    }

    private static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void statusAndMembersAsTableAndJson() throws Exception {
        Run table = agentctl("status");
        assertThat(table.exit()).as(table.err()).isZero();
        assertThat(table.out()).contains("leader: a").contains("MEMBER").contains("a1").contains("a2").contains("a3");
        assertThat(table.err()).isEmpty();

        Run json = agentctl("status", "-o", "json");
        JsonNode status = JSON.readTree(json.out());
        assertThat(status.get("leaderId").asText()).startsWith("a");
        assertThat(status.get("members")).hasSize(3);

        JsonNode members = JSON.readTree(agentctl("-o", "json", "members").out());
        assertThat(members).hasSize(3);
        assertThat(members.get(0).get("region").asText()).isEqualTo("region-a1");
        // Each agent detected its host's runc and CRIU at start and reported them when it joined.
        assertThat(members.findValuesAsText("criuVersion")).hasSize(3).allSatisfy(v -> assertThat(v).matches("4\\.\\d+.*"));
        assertThat(members.findValues("lazyPages")).allSatisfy(v -> assertThat(v.asBoolean()).isTrue());
        assertThat(agentctl("members").out()).contains("RUNTIME").contains("post-copy");
    }

    @Test
    void runPsMigrateAndTheRefusals() throws Exception {
        String id = unique("web");
        Run run = agentctl("run", id, "--bundle-digest", "sha256:1", "--ip", "10.66.0." + (id.hashCode() & 0x7f));
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains(id).contains("RUNNING").contains("a1");

        JsonNode ps = JSON.readTree(agentctl("ps", "-o", "json").out());
        assertThat(ps.findValuesAsText("id")).contains(id);

        Run migrate = agentctl("migrate", id, "--to", "a2", "-o", "json");
        assertThat(migrate.exit()).as(migrate.err()).isZero();
        assertThat(JSON.readTree(migrate.out()).get("phase").asText()).isEqualTo("PREPARE");

        Run second = agentctl("migrate", id, "--to", "a3");
        assertThat(second.exit()).isEqualTo(ExitCodes.REFUSED);
        assertThat(second.out()).isEmpty();
        assertThat(second.err().lines()).singleElement().asString()
                .startsWith("agentctl: FAILED_PRECONDITION").contains("already migrating").contains(id);

        Run stop = agentctl("stop", id);
        assertThat(stop.exit()).isEqualTo(ExitCodes.REFUSED);
        assertThat(stop.err()).contains("abort the migration");

        String migrationId = JSON.readTree(migrate.out()).get("id").asText();
        Run aborted = agentctl("abort", migrationId, "--reason", "operator changed mind", "-o", "json");
        assertThat(aborted.exit()).as(aborted.err()).isZero();
        JsonNode abortedView = JSON.readTree(aborted.out());
        assertThat(abortedView.get("outcome").asText()).isEqualTo("ABORTED");
        assertThat(abortedView.get("abortReason").asText()).isEqualTo("operator changed mind");
        Run watchAborted = agentctl("watch", migrationId);
        assertThat(watchAborted.exit()).as("watching an aborted migration").isEqualTo(ExitCodes.REFUSED);
        assertThat(watchAborted.out()).contains("ABORT");
        JsonNode after = JSON.readTree(agentctl("ps", id, "-o", "json").out());
        assertThat(after.at("/container/owner").asText()).isEqualTo("a1");
        assertThat(after.at("/container/migrationId").asText()).isEmpty();
        Run again = agentctl("abort", migrationId);
        assertThat(again.exit()).isEqualTo(ExitCodes.REFUSED);
        assertThat(again.err()).contains("already ABORTED");

        Run missing = agentctl("ps", "nosuch-" + id);
        assertThat(missing.exit()).isEqualTo(ExitCodes.NOT_FOUND);
        assertThat(missing.err()).contains("no container nosuch-" + id);

        Run usage = agentctl("run", id);
        assertThat(usage.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(usage.err()).contains("--bundle-digest");
    }

    @Test
    void anUnreachablePeerIsExitThreeAndVerboseAddsTheStack() throws Exception {
        String closed = "127.0.0.1:" + LocalCluster.freePort();
        StringWriter err = new StringWriter();
        int exit = AgentCtl.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true),
                "--peer", closed, "--timeout", "5", "status");
        assertThat(exit).isEqualTo(ExitCodes.UNAVAILABLE);
        assertThat(err.toString().lines()).singleElement().asString().startsWith("agentctl: UNAVAILABLE")
                .contains("agent at " + closed + " not reachable").contains("--peer");

        StringWriter verbose = new StringWriter();
        AgentCtl.execute(new PrintWriter(new StringWriter()), new PrintWriter(verbose, true),
                "--peer", closed, "--timeout", "5", "status", "--verbose");
        assertThat(verbose.toString().lines().count()).isGreaterThan(3);
        assertThat(verbose.toString()).contains("at io.grpc");
    }

    @Test
    void migrateWatchFollowsTheTransactionToCommit() throws Exception {
        String id = unique("watched");
        assertThat(agentctl("run", id, "--bundle-digest", "sha256:w", "--owner", "a3").exit()).isZero();
        String migrationId = unique("m");
        CompletableFuture<Run> watching = CompletableFuture.supplyAsync(
                () -> agentctl("migrate", id, "--to", "a1", "--id", migrationId, "--watch", "-o", "json"));
        try (ClusterClient raft = cluster.raftClient()) {
            long token = cluster.await(Duration.ofSeconds(30), "migration " + migrationId + " started",
                    () -> tokenOf(id, migrationId));
            raft.submit(Commands.advance(migrationId, MigrationPhase.FREEZE, token));
            raft.submit(Commands.advance(migrationId, MigrationPhase.RESTORE, token));
            raft.submit(Commands.advance(migrationId, MigrationPhase.COMMIT, token));
        }
        Run watched = watching.get(120, TimeUnit.SECONDS);
        assertThat(watched.exit()).as(watched.err()).isZero();
        String[] lines = watched.out().strip().split("\n");
        assertThat(JSON.readTree(lines[0]).get("phase").asText()).isEqualTo("PREPARE");
        JsonNode last = JSON.readTree(lines[lines.length - 1]);
        assertThat(last.get("outcome").asText()).isEqualTo("COMMITTED");
        assertThat(last.get("destination").asText()).isEqualTo("a1");
    }

    private static Long tokenOf(String containerId, String migrationId) {
        try {
            var reply = cluster.control("a1").containerStatus(
                    org.migrationmesh.proto.control.ContainerStatusRequest.newBuilder().setContainerId(containerId).build());
            return reply.getMigration().getId().equals(migrationId) ? reply.getMigration().getEpoch() : null;
        } catch (io.grpc.StatusRuntimeException e) {
            return null;
        }
    }
}
