package org.migrationmesh.agent.cli;

import org.migrationmesh.proto.cluster.ContainerSpec;
import org.migrationmesh.proto.control.RunContainerRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "run", description = {
        "Places a container on an agent (owner: the agent asked, unless --owner) and marks it running.",
        "With --workload the owner runs it: e.g. `run tick1 --ip 10.0.0.200 --workload tickserver -- "
                + "/bin/tickserver 10.0.0.200 7000 7001`."})
final class RunCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", description = "Container id.")
    String containerId;

    @Parameters(index = "1..*", arity = "0..*", description = "The container's command (after --workload).")
    List<String> args = new ArrayList<>();

    @Option(names = "--workload", description = "Workload the agents carry: tickserver, memhog.")
    String workload = "";

    @Option(names = "--bundle-digest", description = "Digest of the container's bundle. Default: workload:NAME.")
    String bundleDigest = "";

    @Option(names = "--owner", description = "Agent that runs it. Default: the agent asked.")
    String owner = "";

    @Option(names = "--ip", description = "Floating IP that follows the container.")
    String floatingIp = "";

    @Override
    public Integer call() {
        if (workload.isEmpty() && bundleDigest.isEmpty()) {
            throw new IllegalArgumentException("give --workload NAME (and its command), or --bundle-digest to only record it");
        }
        if (workload.isEmpty() && !args.isEmpty()) {
            throw new IllegalArgumentException("a command (" + String.join(" ", args) + ") needs --workload");
        }
        RunContainerRequest.Builder req = RunContainerRequest.newBuilder().setContainerId(containerId)
                .setBundleDigest(bundleDigest.isEmpty() ? "workload:" + workload : bundleDigest)
                .setOwner(owner).setFloatingIp(floatingIp);
        if (!workload.isEmpty()) req.setSpec(ContainerSpec.newBuilder().setWorkload(workload).addAllArgs(args));
        try (AgentCtl.Connection c = root.connect()) {
            var r = c.unary().runContainer(req.build());
            Rendering.print(root.out(), root.options, PsCommand.detail(r), Views::table);
        }
        return 0;
    }
}
