package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.control.ContainerStatusReply;
import org.migrationmesh.proto.control.ContainerStatusRequest;
import org.migrationmesh.proto.control.ListContainersRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "ps", description = "Lists containers and their owners; with an id, one container and its latest migration.")
final class PsCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", arity = "0..1", description = "Container id.")
    String containerId;

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            if (containerId == null) {
                List<Views.ContainerView> views = c.unary().listContainers(ListContainersRequest.getDefaultInstance())
                        .getContainersList().stream().map(Views::container).toList();
                Rendering.print(root.out(), root.options, views, Views::table);
            } else {
                ContainerStatusReply r = c.unary().containerStatus(
                        ContainerStatusRequest.newBuilder().setContainerId(containerId).build());
                Rendering.print(root.out(), root.options, detail(r), Views::table);
            }
        }
        return 0;
    }

    static Views.ContainerDetail detail(ContainerStatusReply r) {
        return new Views.ContainerDetail(Views.container(r.getContainer()),
                r.hasMigration() ? Views.migration(r.getMigration()) : null);
    }
}
