package org.migrationmesh.agent.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.migrationmesh.agent.migration.MigrationChecks;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Member;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.control.ClusterStatusReply;
import org.migrationmesh.proto.control.ClusterStatusRequest;
import org.migrationmesh.proto.control.ContainerStatusRequest;
import org.migrationmesh.proto.control.MigrateRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "migrate", description = "Starts the migration transaction of a container to another agent.")
final class MigrateCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", description = "Container id.")
    String containerId;

    @Option(names = "--to", required = true, description = "Destination agent id.")
    String destination;

    @Option(names = "--id", description = "Migration id. Default: generated.")
    String migrationId = "";

    @Option(names = "--watch", description = "Follow the migration until it commits or aborts; exit 5 if it aborts.")
    boolean watch;

    @Option(names = "--post-copy", description = "Restore at once on the destination; memory pages follow on demand.")
    boolean postCopy;

    @Option(names = "--pre-copy", description = "Copy memory while the container runs: off, auto or a number of rounds."
            + " Default: ${DEFAULT-VALUE}")
    String preCopy = "off";

    @Option(names = "--max-downtime", description = "Downtime budget in ms for --pre-copy auto. Default: ${DEFAULT-VALUE}")
    int maxDowntimeMs = 500;

    @Option(names = "--dry-run", description = "Run PREPARE's checks and say what would happen; start nothing."
            + " Exit 0 if the migration would go, 5 if refused.")
    boolean dryRun;

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            if (dryRun) return dryRun(c);
            Migration started = c.unary().migrate(MigrateRequest.newBuilder().setContainerId(containerId)
                    .setDestination(destination).setMigrationId(migrationId).setPostCopy(postCopy).setPreCopy(preCopy)
                    .setMaxDowntimeMs(maxDowntimeMs).build()).getMigration();
            Rendering.printLine(root.out(), root.options, Views.migration(started), Views::table);
            return watch ? WatchCommand.follow(root, c, started.getId(), started) : 0;
        }
    }

    /** The checks a migration's PREPARE would make, on the cluster's state as the peer has it. */
    private int dryRun(AgentCtl.Connection c) {
        ClusterStatusReply cluster = c.unary().clusterStatus(ClusterStatusRequest.getDefaultInstance());
        Optional<Container> container;
        try {
            container = Optional.of(c.unary().containerStatus(ContainerStatusRequest.newBuilder()
                    .setContainerId(containerId).build()).getContainer());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) throw e;
            container = Optional.empty();
        }
        Map<String, Member> members = new HashMap<>();
        cluster.getMembersList().forEach(m -> members.put(m.getId(), m));
        MigrationChecks.Verdict v = MigrationChecks.check("", containerId, container, destination,
                id -> Optional.ofNullable(members.get(id)), postCopy, cluster.getNowMillis());
        PrintWriter out = root.out();
        for (MigrationChecks.Check check : v.checks()) {
            out.printf("%-8s %-11s %s%n", check.ok() ? "ok" : "REFUSED", check.name(), check.detail());
        }
        if (v.go()) {
            String mode = (preCopy.equals("off") ? "" : "pre-copy " + preCopy + (postCopy ? " then " : ", then "))
                    + (postCopy ? "post-copy" : "stop-and-copy");
            out.printf("would migrate %s from %s to %s: %s (dry run: nothing started)%n", containerId,
                    container.orElseThrow().getOwner(), destination, mode);
        } else {
            out.printf("would refuse: %s%n", v.refusals());
        }
        out.flush();
        return v.go() ? 0 : ExitCodes.REFUSED;
    }
}
