package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.control.AbortMigrationRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "abort", description = "Aborts a migration before COMMIT; the container stays with its source.")
final class AbortCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", description = "Migration id.")
    String migrationId;

    @Option(names = "--reason", description = "Recorded with the migration.")
    String reason = "";

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            var m = c.unary().abortMigration(AbortMigrationRequest.newBuilder().setMigrationId(migrationId)
                    .setReason(reason).build()).getMigration();
            Rendering.print(root.out(), root.options, Views.migration(m), Views::table);
        }
        return 0;
    }
}
