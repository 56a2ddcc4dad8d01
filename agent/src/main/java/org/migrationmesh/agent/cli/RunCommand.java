package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.control.RunContainerRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "run", description = "Registers a container (owner: the agent asked, unless --owner) and marks it running.")
final class RunCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", description = "Container id.")
    String containerId;

    @Option(names = "--bundle-digest", required = true, description = "Digest of the container's bundle.")
    String bundleDigest;

    @Option(names = "--owner", description = "Agent that runs it. Default: the agent asked.")
    String owner = "";

    @Option(names = "--ip", description = "Floating IP that follows the container.")
    String floatingIp = "";

    @Override
    public Integer call() {
        try (AgentCtl.Connection c = root.connect()) {
            var r = c.unary().runContainer(RunContainerRequest.newBuilder().setContainerId(containerId)
                    .setBundleDigest(bundleDigest).setOwner(owner).setFloatingIp(floatingIp).build());
            Rendering.print(root.out(), root.options, PsCommand.detail(r), Views::table);
        }
        return 0;
    }
}
