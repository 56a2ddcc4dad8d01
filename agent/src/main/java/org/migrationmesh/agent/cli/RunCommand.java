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
        "With --workload the owner runs a workload the agents carry: e.g. `run tick1 --ip 10.0.0.200 "
                + "--workload tickserver -- /bin/tickserver 10.0.0.200 7000 7001`.",
        "With --rootfs it runs a command in a prepared rootfs present at that path on every host, read-only "
                + "with a tmpfs /tmp: e.g. `run oa1 --ip 10.0.0.201 --rootfs "
                + "/var/lib/migration-mesh/images/openarena/rootfs -- /usr/lib/ioquake3/ioq3ded +set net_ip 10.0.0.201 ...`."})
final class RunCommand implements Callable<Integer> {
    @ParentCommand
    AgentCtl root;

    @Parameters(index = "0", description = "Container id.")
    String containerId;

    @Parameters(index = "1..*", arity = "0..*", description = "The container's command (after --workload or --rootfs).")
    List<String> args = new ArrayList<>();

    @Option(names = "--workload", description = "Workload the agents carry: tickserver, memhog.")
    String workload = "";

    @Option(names = "--rootfs", description = "Absolute path of a prepared read-only rootfs, the same on every host.")
    String rootfs = "";

    @Option(names = "--bundle-digest", description = "Digest of the container's bundle. Default: workload:NAME or rootfs:DIR.")
    String bundleDigest = "";

    @Option(names = "--owner", description = "Agent that runs it. Default: the agent asked.")
    String owner = "";

    @Option(names = "--ip", description = "Floating IP that follows the container.")
    String floatingIp = "";

    @Override
    public Integer call() {
        if (!workload.isEmpty() && !rootfs.isEmpty()) {
            throw new IllegalArgumentException("give --workload NAME or --rootfs DIR, not both");
        }
        boolean runnable = !workload.isEmpty() || !rootfs.isEmpty();
        if (!runnable && bundleDigest.isEmpty()) {
            throw new IllegalArgumentException("give --workload NAME or --rootfs DIR (and the command), "
                    + "or --bundle-digest to only record it");
        }
        if (!runnable && !args.isEmpty()) {
            throw new IllegalArgumentException("a command (" + String.join(" ", args) + ") needs --workload or --rootfs");
        }
        if (!rootfs.isEmpty() && !rootfs.startsWith("/")) {
            throw new IllegalArgumentException("--rootfs must be an absolute path (the same on every host): " + rootfs);
        }
        if (!rootfs.isEmpty() && args.isEmpty()) {
            throw new IllegalArgumentException("--rootfs " + rootfs + " needs the command to run in it, after --");
        }
        String digest = !bundleDigest.isEmpty() ? bundleDigest : workload.isEmpty() ? "rootfs:" + rootfs : "workload:" + workload;
        RunContainerRequest.Builder req = RunContainerRequest.newBuilder().setContainerId(containerId)
                .setBundleDigest(digest).setOwner(owner).setFloatingIp(floatingIp);
        if (runnable) {
            req.setSpec(ContainerSpec.newBuilder().setWorkload(workload).setRootfs(rootfs).addAllArgs(args));
        }
        try (AgentCtl.Connection c = root.connect()) {
            var r = c.unary().runContainer(req.build());
            Rendering.print(root.out(), root.options, PsCommand.detail(r), Views::table);
        }
        return 0;
    }
}
