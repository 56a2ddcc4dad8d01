package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.control.MigrateRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

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

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            Migration started = c.unary().migrate(MigrateRequest.newBuilder().setContainerId(containerId)
                    .setDestination(destination).setMigrationId(migrationId).setPostCopy(postCopy).setPreCopy(preCopy)
                    .setMaxDowntimeMs(maxDowntimeMs).build()).getMigration();
            Rendering.printLine(root.out(), root.options, Views.migration(started), Views::table);
            return watch ? WatchCommand.follow(root, c, started.getId(), started) : 0;
        }
    }
}
