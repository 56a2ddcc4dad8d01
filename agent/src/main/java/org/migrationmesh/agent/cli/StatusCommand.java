package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.control.ClusterStatusRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "status", description = "Cluster status: leader, term, members and their liveness.")
final class StatusCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            Views.ClusterView view = Views.cluster(c.unary().clusterStatus(ClusterStatusRequest.getDefaultInstance()));
            Rendering.print(root.out(), root.options, view, Views::table);
        }
        return 0;
    }
}
