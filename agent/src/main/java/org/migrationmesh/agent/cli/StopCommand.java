package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.control.StopContainerRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "stop", description = "Marks a container stopped.")
final class StopCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", description = "Container id.")
    String containerId;

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            var r = c.unary().stopContainer(StopContainerRequest.newBuilder().setContainerId(containerId).build());
            Rendering.print(root.out(), root.options, PsCommand.detail(r), Views::table);
        }
        return 0;
    }
}
