package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.proto.cluster.MigrationOutcome;
import org.migrationmesh.proto.control.MigrationProgress;
import org.migrationmesh.proto.control.WatchMigrationRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.Iterator;
import java.util.concurrent.Callable;

@Command(name = "watch", description = "Follows a migration until it commits (exit 0) or aborts (exit 5).")
final class WatchCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", description = "Migration id.")
    String migrationId;

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            return follow(root, c, migrationId, null);
        }
    }

    /** Prints each new view of the migration; returns the exit code its outcome calls for. */
    static int follow(AgentCtl root, AgentCtl.Connection c, String migrationId, Migration alreadyPrinted) {
        Migration last = alreadyPrinted;
        Iterator<MigrationProgress> progress = c.streaming().watchMigration(
                WatchMigrationRequest.newBuilder().setMigrationId(migrationId).build());
        while (progress.hasNext()) {
            Migration m = progress.next().getMigration();
            if (!m.equals(last)) Rendering.printLine(root.out(), root.options, Views.migration(m), Views::table);
            last = m;
        }
        return last != null && last.getOutcome() == MigrationOutcome.ABORTED ? ExitCodes.REFUSED : 0;
    }
}
